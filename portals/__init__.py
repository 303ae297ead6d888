"""The portals (SOLTÉA, Certificateurs): thin Flask relying parties of the hub.

They speak to the hub only over OpenID Connect and its HTTP API, never by importing `hub` or
`idp` (DESIGN.md §3; `tests/test_layering.py` holds them to it).
"""
