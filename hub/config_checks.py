"""`hub check`: is this configuration fit for production? Each check gives a finding — fine, a
warning, or blocking — with the French sentence that says what to fix and the variable to set.

`hub run` refuses to start on a blocking finding unless in demo mode (`HUB_DEMO`, `--demo`):
the demo expects plain-http loopback URLs, SQLite and published passwords, so there what would
block only warns. The database's reachability blocks always: nothing works without it.

Plain Python, no Flask: the settings and the environment they came from are passed in (whether
the secret key was set, or generated into the instance folder, only the environment tells).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url

from hub.config import Settings
from hub.database import make_engine
from hub.mail.sender import SmtpSender

SECRET_KEY_MIN = 32  # characters: 192 bits of `secrets.token_urlsafe`, and what Django asks
SECRET_KEY_MIN_DISTINCT = 10  # « aaaa… » or « 1234512345… » are no secret
METRICS_TOKEN_MIN = 32
CONNECT_TIMEOUT = 5.0  # seconds: the check must answer quickly, even when a server is gone
# OWASP's Password Storage Cheat Sheet: argon2id with at least 19 MiB, 2 passes, 1 lane.
ARGON2_MIN_MEMORY_KIB = 19456
ARGON2_MIN_TIME_COST = 2
LDAP_REQUIRED = ("HUB_LDAP_USER_BASE", "HUB_LDAP_OPERATOR_GROUP", "HUB_LDAP_READER_GROUP")


class Severity(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BLOCKING = "blocking"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    message: str  # French, for the operator: what is found and what to do
    variable: str | None = None  # the setting to change, when one does it


def _ok(message: str) -> Finding:
    return Finding(Severity.OK, message)


def _problem(message: str, variable: str | None, *, demo: bool, always: bool = False) -> Finding:
    """Blocking in production; only a warning in demo mode, unless it blocks `always`."""
    severity = Severity.WARNING if demo and not always else Severity.BLOCKING
    return Finding(severity, message, variable)


def _warning(message: str, variable: str | None = None) -> Finding:
    return Finding(Severity.WARNING, message, variable)


def check_configuration(
    settings: Settings,
    *,
    environ: Mapping[str, str],
    migration_heads: Collection[str] | None = None,
) -> list[Finding]:
    """Every finding, in the order an operator fixes them. `migration_heads`: the revisions the
    code expects (`migrations.script_heads()`); None skips that check."""
    demo = settings.demo
    findings = [
        _warning("Mode démonstration (HUB_DEMO) : rien ne bloque le démarrage.", "HUB_DEMO")
    ]
    findings = findings if demo else []
    findings += [
        _public_url(settings, demo=demo),
        _secret_key(settings, environ, demo=demo),
        _cookies(settings, demo=demo),
        *_database(settings, demo=demo, migration_heads=migration_heads),
        _smtp(settings, demo=demo),
        _trusted_proxies(settings),
        _password_hashing(settings),
        _metrics_token(settings),
        _ldap(environ, demo=demo),
    ]
    return findings


def is_blocking(findings: Collection[Finding]) -> bool:
    return any(finding.severity is Severity.BLOCKING for finding in findings)


def _public_url(settings: Settings, *, demo: bool) -> Finding:
    url = settings.public_url
    if url.startswith("https://"):
        return _ok(f"URL publique (émetteur OpenID Connect) en https : {url}")
    return _problem(
        f"L'URL publique {url} n'est pas en https : les portails et les navigateurs doivent "
        "joindre le hub en https. Définissez HUB_PUBLIC_URL=https://…",
        "HUB_PUBLIC_URL",
        demo=demo,
    )


def _secret_key(settings: Settings, environ: Mapping[str, str], *, demo: bool) -> Finding:
    key = environ.get("HUB_SECRET_KEY", "")
    if not key:
        return _problem(
            "La clé secrète est générée dans le dossier d'instance : chaque instance aurait la "
            "sienne. Définissez HUB_SECRET_KEY, la même pour toutes les instances.",
            "HUB_SECRET_KEY",
            demo=demo,
        )
    if len(key) < SECRET_KEY_MIN or _repetitive(key):
        return _problem(
            f"La clé secrète HUB_SECRET_KEY est trop faible : au moins {SECRET_KEY_MIN} "
            "caractères aléatoires (par exemple : python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))').",
            "HUB_SECRET_KEY",
            demo=demo,
        )
    return _ok("Clé secrète définie (HUB_SECRET_KEY) et assez longue.")


def _repetitive(key: str) -> bool:
    """Few distinct characters, or a shorter string repeated (« abcabc… »)."""
    return len(set(key)) < SECRET_KEY_MIN_DISTINCT or (key + key).find(key, 1) < len(key)


def _cookies(settings: Settings, *, demo: bool) -> Finding:
    if settings.secure_cookies:
        return _ok("Cookies marqués Secure : envoyés en https seulement.")
    return _problem(
        "Les cookies ne sont pas marqués Secure : ils partiraient en clair. Servez le hub en "
        "https (HUB_PUBLIC_URL) et ne mettez pas HUB_COOKIE_SECURE=0.",
        "HUB_COOKIE_SECURE",
        demo=demo,
    )


def _database(
    settings: Settings, *, demo: bool, migration_heads: Collection[str] | None
) -> list[Finding]:
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "postgresql":
        findings = [_ok("Base de données PostgreSQL.")]
        engine = make_engine(
            settings.database_url, connect_args={"connect_timeout": int(CONNECT_TIMEOUT)}
        )
    else:
        findings = [
            _problem(
                f"La base de données est {url.get_backend_name()} ({shown}) : SQLite ne sert "
                "qu'une machine. Définissez HUB_DATABASE_URL=postgresql+psycopg://…",
                "HUB_DATABASE_URL",
                demo=demo,
            )
        ]
        if url.database and url.database != ":memory:" and not Path(url.database).exists():
            # Connecting would create the file: a check changes nothing.
            return [*findings, _ok(f"Base SQLite créée au premier démarrage ({shown}).")]
        engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as error:
        reason = " ".join(str(getattr(error, "orig", None) or error).split())
        return [
            *findings,
            _problem(
                f"Base de données injoignable ({shown}) : {reason}. Vérifiez HUB_DATABASE_URL "
                "et que le serveur répond.",
                "HUB_DATABASE_URL",
                demo=demo,
                always=True,
            ),
        ]
    finally:
        engine.dispose()
    findings.append(_ok(f"Base de données joignable ({shown})."))
    if migration_heads is None:
        return findings
    if current == set(migration_heads):
        findings.append(_ok("Schéma de la base à jour (migrations appliquées)."))
    else:
        findings.append(
            _warning(
                "Le schéma de la base n'est pas à jour : `hub run` le migre au démarrage, ou "
                "lancez `hub db upgrade`."
            )
        )
    return findings


def _smtp(settings: Settings, *, demo: bool) -> Finding:
    """TCP connection, TLS and login as configured, then EHLO: what the sender will do."""
    smtp = replace(settings.smtp, timeout=min(settings.smtp.timeout, CONNECT_TIMEOUT))
    where = f"{smtp.host}:{smtp.port}"
    try:
        client = SmtpSender(smtp).connect()
        try:
            client.ehlo_or_helo_if_needed()
        finally:
            client.close()
    except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        return _problem(
            f"Serveur SMTP injoignable ({where}) : {reason}. Vérifiez HUB_SMTP_HOST, "
            "HUB_SMTP_PORT, le chiffrement et les identifiants HUB_SMTP_*.",
            "HUB_SMTP_HOST",
            demo=demo,
        )
    return _ok(f"Serveur SMTP joignable ({where}).")


def _trusted_proxies(settings: Settings) -> Finding:
    hops = settings.trusted_proxies
    if hops < 0:
        return Finding(
            Severity.BLOCKING,
            f"HUB_TRUSTED_PROXIES={hops} : un nombre de relais (0 sans proxy, 1 derrière "
            "HAProxy) est attendu.",
            "HUB_TRUSTED_PROXIES",
        )
    if hops == 0 and settings.public_url.startswith("https://"):
        return _warning(
            "URL publique en https mais aucun proxy de confiance (HUB_TRUSTED_PROXIES=0) : si "
            "un proxy termine le TLS, définissez HUB_TRUSTED_PROXIES=1, sans quoi le "
            "limiteur et le journal d'audit ne voient que son adresse.",
            "HUB_TRUSTED_PROXIES",
        )
    return _ok(f"Proxys de confiance : {hops}.")


def _password_hashing(settings: Settings) -> Finding:
    hashing = settings.passwords
    if hashing.memory_cost < ARGON2_MIN_MEMORY_KIB or hashing.time_cost < ARGON2_MIN_TIME_COST:
        return _warning(
            f"Hachage des mots de passe trop léger (argon2id : {hashing.memory_cost} Kio, "
            f"{hashing.time_cost} passe(s)) : au moins {ARGON2_MIN_MEMORY_KIB} Kio "
            f"(HUB_ARGON2_MEMORY_COST) et {ARGON2_MIN_TIME_COST} passes (HUB_ARGON2_TIME_COST).",
            "HUB_ARGON2_MEMORY_COST",
        )
    return _ok("Hachage des mots de passe (argon2id) au niveau recommandé.")


def _metrics_token(settings: Settings) -> Finding:
    token = settings.metrics_token
    if token is None:
        return _ok("Pas de jeton pour /metrics (HUB_METRICS_TOKEN) : les métriques sont fermées.")
    if len(token) < METRICS_TOKEN_MIN:
        return _warning(
            f"Le jeton de /metrics (HUB_METRICS_TOKEN) est court : au moins {METRICS_TOKEN_MIN} "
            "caractères aléatoires.",
            "HUB_METRICS_TOKEN",
        )
    return _ok("Jeton de /metrics assez long.")


def _ldap(environ: Mapping[str, str], *, demo: bool) -> Finding:
    if not environ.get("HUB_LDAP_URL"):
        return _ok(
            "Pas d'annuaire LDAP (HUB_LDAP_URL) : la console support est fermée (en "
            "démonstration, elle lit l'annuaire de la démo)."
        )
    missing = [name for name in LDAP_REQUIRED if not environ.get(name)]
    if environ.get("HUB_LDAP_BIND_DN") and not environ.get("HUB_LDAP_BIND_PASSWORD"):
        missing.append("HUB_LDAP_BIND_PASSWORD")
    if missing:
        return _problem(
            f"Annuaire LDAP incomplet : définissez {', '.join(missing)}.",
            missing[0],
            demo=demo,
            always=True,  # the console could sign nobody in, demo or not
        )
    return _ok("Annuaire LDAP configuré (HUB_LDAP_*).")
