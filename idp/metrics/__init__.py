"""`/metrics`: what an operator's Prometheus scrapes, in its text format (`prometheus-client`).

Two kinds of figures, kept apart:
- what happens in requests, counted where the outcome is known, in the web layer
  (`idp.metrics.events`): requests by endpoint and status with their latency, sign-ins,
  R5 refusals, tokens issued, back-channel logout failures. The domain (`hub`) knows nothing
  of them.
- what the database holds, read when Prometheus scrapes (`idp.metrics.database`): the outbox's
  depth and age, the logout tokens still owed to portals. The same figure from every instance,
  whichever process does the background work.

Each web worker is a process of its own (`launcher.web_server`): `hub run` gives every hub
instance a fresh folder in `PROMETHEUS_MULTIPROC_DIR`, where each worker keeps its counts, and a
scrape adds them up (prometheus-client's multiprocess mode). The workers keep no live gauge
(the `live*` modes), so a worker that dies needs no bookkeeping: its counts stay in the sums.
Without that variable (Flask's test client, one process) the process's own registry serves.
"""
