"""Registration (R1, R10, R12) and e-mail validation pages, on one blueprint (`bp`)."""

from idp.registration import confirmation, email_changes, views
from idp.registration.blueprint import bp

__all__ = ["bp", "confirmation", "email_changes", "views"]
