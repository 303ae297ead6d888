"""Creating people and changing their identity (R6, R14)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import validation
from hub.actors import Actor, System
from hub.audit.services import record, refusal
from hub.config import PasswordHashing
from hub.errors import AlreadyExists, InvalidField
from hub.passwords import hash_password
from hub.users.models import Civility, User

CONTACT_FIELDS = (
    "civility",
    "last_name",
    "first_name",
    "service",
    "mobile_phone",
    "landline_phone",
)


def contact_snapshot(user: User) -> dict[str, Any]:
    """What the audit log keeps of a person's identity (never the password hash)."""
    return {
        "username": user.username,
        "email": user.email,
        **{name: _plain(getattr(user, name)) for name in CONTACT_FIELDS},
    }


def _plain(value: object) -> object:
    return value.value if isinstance(value, Civility) else value


def clean_contact_details(changes: dict[str, Any]) -> dict[str, Any]:
    """Validates the editable contact fields present in `changes` (R6)."""
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise InvalidField(sorted(unknown)[0], "Ce champ ne peut pas être modifié.")
    cleaners = {
        "civility": clean_civility,
        "last_name": lambda v: validation.clean_name(v, field="last_name", label="Nom"),
        "first_name": lambda v: validation.clean_name(v, field="first_name", label="Prénom"),
        "service": lambda v: validation.clean_optional_text(
            v, field="service", label="Service", max_length=validation.SERVICE_MAX
        ),
        "mobile_phone": lambda v: validation.clean_phone(
            v, field="mobile_phone", label="téléphone portable"
        ),
        "landline_phone": lambda v: validation.clean_phone(
            v, field="landline_phone", label="téléphone fixe"
        ),
    }
    return {name: cleaners[name](value) for name, value in changes.items()}


def clean_civility(value: str | Civility | None) -> Civility | None:
    if value in (None, ""):
        return None
    try:
        return Civility(value)
    except ValueError as error:
        raise InvalidField("civility", "La civilité doit être « M. » ou « Mme ».") from error


def available_username(session: Session, first_name: str, last_name: str) -> str:
    """« prénom.nom » in plain ASCII, with a number appended when it is already taken."""
    folded = validation.search_key(f"{first_name}.{last_name}").replace(" ", "-")
    base = re.sub(r"[^a-z0-9.-]+", "", folded).strip(".-")[:60] or "utilisateur"
    taken = set(session.scalars(select(User.username).where(User.username.like(f"{base}%"))))
    if base not in taken:
        return base
    return next(f"{base}{n}" for n in range(2, len(taken) + 3) if f"{base}{n}" not in taken)


def create_user(
    session: Session,
    *,
    by: Actor,
    email: str,
    first_name: str,
    last_name: str,
    now: datetime,
    username: str | None = None,
    password: str | None = None,
    password_params: PasswordHashing | None = None,
    email_verified: bool = False,
    **contact: Any,
) -> User:
    """A new person. Without a password they cannot sign in until they choose one (invitation,
    registration); the username is derived from their name unless given."""
    details = clean_contact_details({"first_name": first_name, "last_name": last_name, **contact})
    email = validation.clean_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise AlreadyExists("Cette adresse e-mail est déjà utilisée par une autre personne.")
    if username is None:
        username = available_username(session, details["first_name"], details["last_name"])
    else:
        username = validation.clean_username(username)
    user = User(username=username, email=email, email_verified=email_verified, **details)
    if password is not None:
        if password_params is None:
            raise TypeError("password_params is required with a password")
        user.password_hash = hash_password(password, password_params)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError as error:
        raise AlreadyExists("Cet identifiant ou cette adresse e-mail est déjà utilisé.") from error
    record(
        session, actor=by, action="user.create", now=now, target=user, after=contact_snapshot(user)
    )
    return user


def update_contact_details(
    session: Session, user: User, *, by: Actor, now: datetime, **changes: Any
) -> User:
    """R6: a person edits their own contact details (the support may too)."""
    if not isinstance(by, System) and by.id != user.id:
        raise refusal(by, "user.update", target=user)
    cleaned = clean_contact_details(changes)
    before = contact_snapshot(user)
    for name, value in cleaned.items():
        setattr(user, name, value)
    after = contact_snapshot(user)
    if after != before:
        record(
            session,
            actor=by,
            action="user.update",
            now=now,
            target=user,
            before=before,
            after=after,
        )
    return user


_BY_EMAIL = select(User).where(User.email == bindparam("login"))
_BY_USERNAME = select(User).where(User.username == bindparam("login"))


def find_user(session: Session, login: str) -> User | None:
    """The person known by this username or email address (both are unique)."""
    login = unicodedata.normalize("NFC", login.strip()).lower()
    return session.scalar(_BY_EMAIL if "@" in login else _BY_USERNAME, {"login": login})
