"""What a person's password mails say (R14): the temporary password of « Mot de passe oublié »,
and the notice that their password changed, so that a change they did not make does not go
unnoticed.

Each is queued in the outbox, in the transaction of the change; the templates are
`hub/mail/templates/password_temporary.*` and `password_changed.*`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hub.clock import paris_date, to_paris
from hub.mail import outbox
from hub.users.models import User


def password_temporary(
    session: Session,
    user: User,
    temporary_password: str,
    *,
    expires_at: datetime,
    sign_in_url: str,
    now: datetime,
) -> None:
    outbox.queue_to(
        session,
        user,
        template="password_temporary",
        context={
            "username": user.username,
            "temporary_password": temporary_password,
            "expires_on": paris_date(expires_at),
            "expires_hour": to_paris(expires_at).strftime("%H:%M"),
            "sign_in_url": sign_in_url,
        },
        now=now,
    )


def password_changed(session: Session, user: User, *, forgot_url: str, now: datetime) -> None:
    outbox.queue_to(
        session,
        user,
        template="password_changed",
        context={
            "username": user.username,
            "changed_on": paris_date(now),
            "changed_hour": to_paris(now).strftime("%H:%M"),
            "forgot_url": forgot_url,
        },
        now=now,
    )
