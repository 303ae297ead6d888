"""What an e-mail change's mails say: the validation link, to the new address, and the notice
to the current one, so that a change the person did not ask for does not go unnoticed.

Both are queued in the outbox, in the transaction of the request; the templates are
`hub/mail/templates/email_change_validation.*` and `email_change_notice.*`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hub.clock import paris_date, to_paris
from hub.email_changes.models import EmailChange
from hub.mail import outbox


def validation_and_notice(
    session: Session, change: EmailChange, *, url: str, now: datetime
) -> None:
    user = change.user
    context = {
        **outbox.greeting(user),
        "username": user.username,
        "old_email": change.old_email,
        "new_email": change.new_email,
        "expires_on": paris_date(change.expires_at),
        "expires_hour": to_paris(change.expires_at).strftime("%H:%M"),
    }
    outbox.queue(
        session,
        recipient=change.new_email,
        template="email_change_validation",
        context={**context, "validation_url": url},
        now=now,
    )
    outbox.queue(
        session, recipient=user.email, template="email_change_notice", context=context, now=now
    )
