"""Settings read from the environment (`HUB_*`), with defaults that need no set-up.

The hub runs with zero configuration on a developer machine: a SQLite file in the instance folder,
a secret key generated on first start and kept there. Production sets everything explicitly.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_INSTANCE_PATH = Path.cwd() / "instance"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class PasswordHashing:
    """argon2id cost parameters (RFC 9106). The defaults are argon2-cffi's, ~185 ms per hash
    on the reference machine; tests set light ones."""

    time_cost: int = 3
    memory_cost: int = 65536  # KiB
    parallelism: int = 4


@dataclass(frozen=True)
class Smtp:
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    ssl: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0
    sender: str = "Hub des portails <no-reply@hub.example>"
    ca_file: str | None = None  # PEM bundle to trust instead of the system's (private relay CA)
    max_attempts: int = 50  # transient failures tolerated before a message is marked failed


@dataclass(frozen=True)
class Oidc:
    """Lifetimes of what the identity provider issues (seconds unless said otherwise)."""

    access_token_seconds: int = 300  # short: expiry and rights changes reach portals quickly
    code_seconds: int = 60
    session_hours: float = 10.0  # absolute lifetime of a sign-in (single sign-on session)
    session_idle_minutes: float = 30.0  # a session unused this long ends
    key_grace_hours: float = 24.0  # a rotated-out key stays published this long


@dataclass(frozen=True)
class Throttling:
    """Failed sign-ins: a growing delay after `delay_after` failures, then a lock."""

    window_minutes: float = 15.0
    delay_after: int = 3
    user_lock_after: int = 10
    ip_lock_after: int = 50
    lock_minutes: float = 15.0


@dataclass(frozen=True)
class Ldap:
    """The organisation's directory, where support operators sign in (R11): a service account
    searches the person, a bind as the person checks the password, groups give the role."""

    url: str  # ldap://host:389 or ldaps://host:636
    user_base: str
    operator_group: str  # DN of a groupOfNames whose members act
    reader_group: str  # DN of a groupOfNames whose members only see
    bind_dn: str | None = None  # the service account (anonymous search when unset)
    bind_password: str | None = None
    user_filter: str = "(uid={login})"  # `{login}` is filled in escaped (RFC 4515)
    starttls: bool = False
    ca_file: str | None = None  # PEM bundle to trust instead of the system's
    timeout: float = 5.0


def ldap_from_env(env: Mapping[str, str]) -> Ldap | None:
    """The directory named by `HUB_LDAP_*`, or None without `HUB_LDAP_URL` (then only the
    demo's embedded directory can serve, when `Support.demo_directory` says so)."""
    if not env.get("HUB_LDAP_URL"):
        return None
    return Ldap(
        url=env["HUB_LDAP_URL"],
        user_base=env.get("HUB_LDAP_USER_BASE", ""),
        operator_group=env.get("HUB_LDAP_OPERATOR_GROUP", ""),
        reader_group=env.get("HUB_LDAP_READER_GROUP", ""),
        bind_dn=env.get("HUB_LDAP_BIND_DN") or None,
        bind_password=env.get("HUB_LDAP_BIND_PASSWORD") or None,
        user_filter=env.get("HUB_LDAP_USER_FILTER", Ldap.user_filter),
        starttls=_bool(env.get("HUB_LDAP_STARTTLS", "false")),
        ca_file=env.get("HUB_LDAP_CA_FILE") or None,
        timeout=float(env.get("HUB_LDAP_TIMEOUT", Ldap.timeout)),
    )


@dataclass(frozen=True)
class Support:
    """The support console (R11): its sessions are short, and a change asks for the password
    again when the last check is older than `reauth_minutes`."""

    idle_minutes: float = 15.0
    session_hours: float = 8.0
    reauth_minutes: float = 5.0
    # `hub run --demo` without HUB_LDAP_URL: the demo's operators, in ldap3's offline mock
    # (`hub.support.directory.demo_directory`). Never a default: its passwords are published.
    demo_directory: bool = False


@dataclass(frozen=True)
class Reminders:
    """Expiry reminders (`hub reminders send`, and `hub run` once a day)."""

    days: tuple[int, ...] = (30, 7)  # a reminder when this many Paris calendar days are left
    hour: int = 8  # `hub run` sends from this hour (Europe/Paris) on: mail in office hours
    check_seconds: float = 3600.0  # how often `hub run` looks whether reminders are due

    def __post_init__(self) -> None:
        if not 0 <= self.hour <= 23:
            raise ValueError(f"HUB_REMINDER_HOUR: an hour from 0 to 23 expected, got {self.hour}")


def reminder_days(value: str) -> tuple[int, ...]:
    """« 30,7 » → (30, 7): distinct positive day counts, farthest first."""
    days = {int(part) for part in value.split(",") if part.strip()}
    if not days or min(days) < 1:
        raise ValueError(f"HUB_REMINDER_DAYS: positive day counts expected, got {value!r}")
    return tuple(sorted(days, reverse=True))


@dataclass(frozen=True)
class Settings:
    instance_path: Path = DEFAULT_INSTANCE_PATH
    database_url: str = ""
    secret_key: str = ""
    public_url: str = "http://127.0.0.1:5000"
    passwords: PasswordHashing = field(default_factory=PasswordHashing)
    smtp: Smtp = field(default_factory=Smtp)
    mail_poll_seconds: float = 5.0
    cookie_secure: bool | None = None  # None: Secure whenever public_url is https
    oidc: Oidc = field(default_factory=Oidc)
    throttling: Throttling = field(default_factory=Throttling)
    reminders: Reminders = field(default_factory=Reminders)
    mail_catcher: Path | None = None  # demo: the folder of caught mail, shown at /dev/mail
    max_request_bytes: int = 1024 * 1024  # a larger body is refused with 413 before any view
    # Single logout: how long the logout page waits for the portals' back-channel logouts,
    # posted in parallel; a portal slower than that is told later, by the sender.
    logout_wait_seconds: float = 2.0
    ldap: Ldap | None = None  # None: no directory (the console is closed), or the demo's
    support: Support = field(default_factory=Support)
    # Demo mode (`hub run --demo`, `make cluster`): the demo's published passwords and plain-http
    # loopback URLs are expected, so `hub check` warns instead of refusing to start.
    demo: bool = False
    # Reverse proxies in front of the hub (HAProxy): how many X-Forwarded-* hops to believe, so
    # that throttling and audit see the browser's address and URLs the public scheme. 0: none.
    trusted_proxies: int = 0
    metrics_token: str | None = None  # bearer token `/metrics` asks for; None: no /metrics
    log_format: str = "text"  # "json": one JSON line per request and per event
    # While this file exists, `/readyz` answers 503 (draining): `hub run` creates it on SIGTERM
    # so that the load balancer stops sending before the servers stop.
    drain_file: Path | None = None
    drain_seconds: float = 0.0  # how long `hub run` stays up draining before it stops serving
    lease_seconds: float = 15.0  # life of the periodic jobs' lease (`hub.leases`), renewed at 1/3
    database_wait_seconds: float = 5.0  # a request waits this long for a database that went away

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Builds settings from `HUB_*` variables; keyword overrides win (tests, app factory)."""
        env = os.environ if environ is None else environ
        instance = Path(env.get("HUB_INSTANCE_PATH", DEFAULT_INSTANCE_PATH))
        settings = cls(
            instance_path=instance,
            database_url=env.get("HUB_DATABASE_URL", ""),
            secret_key=env.get("HUB_SECRET_KEY", ""),
            public_url=env.get("HUB_PUBLIC_URL", cls.public_url).rstrip("/"),
            passwords=PasswordHashing(
                time_cost=int(env.get("HUB_ARGON2_TIME_COST", PasswordHashing.time_cost)),
                memory_cost=int(env.get("HUB_ARGON2_MEMORY_COST", PasswordHashing.memory_cost)),
                parallelism=int(env.get("HUB_ARGON2_PARALLELISM", PasswordHashing.parallelism)),
            ),
            smtp=Smtp(
                host=env.get("HUB_SMTP_HOST", Smtp.host),
                port=int(env.get("HUB_SMTP_PORT", Smtp.port)),
                starttls=_bool(env.get("HUB_SMTP_STARTTLS", "false")),
                ssl=_bool(env.get("HUB_SMTP_SSL", "false")),
                username=env.get("HUB_SMTP_USERNAME") or None,
                password=env.get("HUB_SMTP_PASSWORD") or None,
                timeout=float(env.get("HUB_SMTP_TIMEOUT", Smtp.timeout)),
                sender=env.get("HUB_MAIL_FROM", Smtp.sender),
                ca_file=env.get("HUB_SMTP_CA_FILE") or None,
                max_attempts=int(env.get("HUB_SMTP_MAX_ATTEMPTS", Smtp.max_attempts)),
            ),
            mail_poll_seconds=float(env.get("HUB_MAIL_POLL_SECONDS", cls.mail_poll_seconds)),
            cookie_secure=_bool(env["HUB_COOKIE_SECURE"]) if "HUB_COOKIE_SECURE" in env else None,
            oidc=Oidc(
                access_token_seconds=int(
                    env.get("HUB_ACCESS_TOKEN_SECONDS", Oidc.access_token_seconds)
                ),
                code_seconds=int(env.get("HUB_CODE_SECONDS", Oidc.code_seconds)),
                session_hours=float(env.get("HUB_SESSION_HOURS", Oidc.session_hours)),
                session_idle_minutes=float(
                    env.get("HUB_SESSION_IDLE_MINUTES", Oidc.session_idle_minutes)
                ),
                key_grace_hours=float(env.get("HUB_KEY_GRACE_HOURS", Oidc.key_grace_hours)),
            ),
            mail_catcher=Path(env["HUB_MAIL_CATCHER"]) if env.get("HUB_MAIL_CATCHER") else None,
            max_request_bytes=int(env.get("HUB_MAX_REQUEST_BYTES", cls.max_request_bytes)),
            logout_wait_seconds=float(env.get("HUB_LOGOUT_WAIT_SECONDS", cls.logout_wait_seconds)),
            ldap=ldap_from_env(env),
            demo=_bool(env.get("HUB_DEMO", "false")),
            trusted_proxies=int(env.get("HUB_TRUSTED_PROXIES", cls.trusted_proxies)),
            metrics_token=env.get("HUB_METRICS_TOKEN") or None,
            log_format=env.get("HUB_LOG_FORMAT", cls.log_format).strip().lower(),
            drain_file=Path(env["HUB_DRAIN_FILE"]) if env.get("HUB_DRAIN_FILE") else None,
            drain_seconds=float(env.get("HUB_DRAIN_SECONDS", cls.drain_seconds)),
            lease_seconds=float(env.get("HUB_LEASE_SECONDS", cls.lease_seconds)),
            database_wait_seconds=float(
                env.get("HUB_DATABASE_WAIT_SECONDS", cls.database_wait_seconds)
            ),
            support=Support(
                idle_minutes=float(env.get("HUB_SUPPORT_IDLE_MINUTES", Support.idle_minutes)),
                session_hours=float(env.get("HUB_SUPPORT_SESSION_HOURS", Support.session_hours)),
                reauth_minutes=float(env.get("HUB_SUPPORT_REAUTH_MINUTES", Support.reauth_minutes)),
                demo_directory=_bool(env.get("HUB_SUPPORT_DEMO_DIRECTORY", "false")),
            ),
            reminders=Reminders(
                days=reminder_days(
                    env.get("HUB_REMINDER_DAYS", ",".join(map(str, Reminders.days)))
                ),
                hour=int(env.get("HUB_REMINDER_HOUR", Reminders.hour)),
                check_seconds=float(env.get("HUB_REMINDER_CHECK_SECONDS", Reminders.check_seconds)),
            ),
        )
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        return replace(settings, **overrides).with_defaults()

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.public_url.startswith("https://")

    def with_defaults(self) -> Settings:
        """Fills what was left empty: the SQLite file and the secret key, both in the instance
        folder, the key generated once and kept (never committed)."""
        database_url = self.database_url or f"sqlite:///{self.instance_path / 'hub.sqlite3'}"
        return replace(
            self, database_url=database_url, secret_key=self.secret_key or self._stored_secret()
        )

    def _stored_secret(self) -> str:
        path = self.instance_path / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.instance_path.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key
