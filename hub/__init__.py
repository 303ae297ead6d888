"""The hub's domain core: people, structures, portal accounts, expiry and administration rights.

Plain Python and SQLAlchemy only. The web app (`idp`) and the command line drive it; nothing here
knows about HTTP or Flask.
"""
