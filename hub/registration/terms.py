"""The CGU (conditions générales d'utilisation) a person accepts to register (R12). Their text is
the page `/cgu`; a change of text is a new `TERMS_VERSION`, and what each person accepted, and
when, is kept (`TermsAcceptance`)."""

from __future__ import annotations

TERMS_VERSION = "1.0"
TERMS_IN_FORCE_SINCE = "23/11/2026"
