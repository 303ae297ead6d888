"""The protocol's common case, answered without Flask's request cycle or Authlib (issue 17): a
portal's authorization request from a browser whose session is live and admitted, and the
portal's token request for the code it got, or for a new refresh token. These are most of what
the hub serves, and Flask's request cycle with the hub's hooks, then Authlib's machinery, cost
more than the work itself (the statements and the signature).

A request is taken here only when it is *plain*: the method and path of one of the two
endpoints, only the parameters a portal sends (`AUTHORIZE_PARAMETERS`, `CODE_GRANT`,
`REFRESH_GRANT`), each once, printable, short; the client known, its redirect URI registered
(exactly), its secret in HTTP Basic; and then every check the full path makes before it writes
— the session live and not due a new password (R14), the person admitted (R5, R9), the code or
refresh token the client's, unused, unexpired, its session live, PKCE S256 proven. The first
check that does not pass hands the request, untouched, to the full path (Flask, Authlib,
`idp.oidc.authorization`, `idp.oidc.grants`), which answers it as it always did: the sign-in
page, a protocol error at the redirect URI, `invalid_grant`, an audited refusal. Nothing is
written before the checks pass, so a request handed over has changed nothing. Once they pass,
the writes are the full path's own (`hub.oidc.sessions`, `hub.oidc.tokens`), guarded the same
way: a code or refresh token redeemed concurrently makes the guarded write change nothing, and
the request is handed over, where the full path sees the replay and revokes what it gave.

What every answer carries is shared with the full path, not copied: the security headers
(`idp.security.protective_headers`), the request id (`idp.request_ids.request_id_of`), the
request line (`idp.logs.write_request_line`), the metrics (`idp.metrics.events`) and the ID
token (`idp.oidc.grants.signed_id_token`). An exception inside the unit of work — a database
gone away, a bug — is answered by the full path as its own (`_raise_failure`): a 503 and a replay
by `idp.web.database_wait` when nothing was committed, a logged 500 otherwise.

The middleware sits inside `DatabaseWait` (its body buffer and its retries serve both paths) and
`ProxyFix` (the address in the request line is the browser's). `FAST_PATH = False` in the app's
configuration turns it off; the differential test (tests/idp/oidc/test_fast_path.py) sends the
same requests down both paths and compares the answers.
"""

from __future__ import annotations

import hmac
import io
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oauth2.rfc7636.challenge import CODE_CHALLENGE_PATTERN, CODE_VERIFIER_PATTERN
from flask import Flask, request
from sqlalchemy.engine import Connection
from werkzeug.http import parse_cookie

from hub.clock import utcnow
from hub.config import Settings
from hub.errors import NotAdmitted
from hub.oidc import access, sessions, tokens
from hub.oidc.secrets import new_secret
from hub.transactions import again_while_transient, on_connection
from idp import logs, request_ids, security
from idp.extensions import db
from idp.metrics import events
from idp.oidc.adapters import MAX_TOKEN_LENGTH, RelyingParty
from idp.oidc.authorization import MAX_PARAMETER_LENGTH, MAX_PARAMETERS_LENGTH, acceptable_nonce
from idp.oidc.claims import SCOPES
from idp.oidc.grants import session_is_live, signed_id_token
from idp.oidc.server import basic_credentials, secure_issuer, server, with_issuer
from idp.web import cookies
from idp.web.characters import has_body, refused_header
from idp.web.sessions import COOKIE_NAME
from idp.web.settings import settings_of

CONFIG_KEY = "FAST_PATH"
FAILURE_KEY = "hub.fast_path.failure"  # the environ's: an exception for the full path to answer
AUTHORIZE_PARAMETERS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    }
)
AUTHORIZE_REQUIRED = AUTHORIZE_PARAMETERS - {"state", "nonce"}
CODE_GRANT = frozenset({"grant_type", "code", "redirect_uri", "code_verifier"})
REFRESH_GRANT = frozenset({"grant_type", "refresh_token"})
FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 4096  # a plain token request is about 200 bytes
FOUND = "302 FOUND"
OK = "200 OK"
# Authlib's for a token response (RFC 6749 §5.1), and Flask's for an empty redirect.
JSON = "application/json"
TOKEN_HEADERS = (
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
)
REDIRECT_CONTENT_TYPE = "text/html; charset=utf-8"
_OFFERED = frozenset(SCOPES)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
# A grant's answer to its client: the token response, or None for the full path to answer.
Grant = Callable[[Connection, RelyingParty, dict[str, str]], dict[str, Any] | None]


@dataclass(frozen=True)
class Answer:
    """What the fast path answers a plain request."""

    status: str
    content_type: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    endpoint: str  # the full path's Flask endpoint, for the metrics and the request line
    grant_type: str | None = None  # tokens issued by this grant


class FastPath:
    """WSGI middleware: the plain requests answered here, every other request by `full_path`."""

    def __init__(self, app: Flask, full_path: WsgiApp) -> None:
        self.app = app
        self.full_path = full_path
        self.settings: Settings = settings_of(app)
        self.log_format = logs.log_format_of(app)
        self.answerers: dict[tuple[str, str], Callable[[dict[str, Any]], Answer | None]] = {
            ("GET", "/authorize"): self._authorize,
            ("POST", "/token"): self._token,
        }
        self.grants: dict[str, tuple[frozenset[str], Grant]] = {
            "authorization_code": (CODE_GRANT, self._code_grant),
            "refresh_token": (REFRESH_GRANT, self._refresh_grant),
        }

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        answerer = self.answerers.get(
            (environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
        )
        if answerer is None or refused_header(environ) is not None:
            return self.full_path(environ, start_response)
        started = time.perf_counter()
        with self.app.app_context():
            try:
                answer = answerer(environ)
            except Exception as failure:  # the full path answers it, and logs it
                environ[FAILURE_KEY] = failure
                answer = None
        if answer is None:
            return self.full_path(environ, start_response)
        return self._send(answer, environ, start_response, started)

    def _send(
        self, answer: Answer, environ: dict[str, Any], start_response: StartResponse, started: float
    ) -> list[bytes]:
        request_id = request_ids.request_id_of(environ)
        headers = [
            ("Content-Type", answer.content_type),
            *answer.headers,
            ("Content-Length", str(len(answer.body))),
            (request_ids.HEADER, request_id),
        ]
        present = {name.lower() for name, _value in headers}
        https = self.settings.secure_cookies
        headers += security.protective_headers(present, answer.content_type, https=https)
        start_response(answer.status, headers)
        status = int(answer.status[:3])
        seconds = time.perf_counter() - started
        line = logs.RequestLine(
            method=environ["REQUEST_METHOD"],
            path=environ.get("PATH_INFO", ""),
            protocol=environ.get("SERVER_PROTOCOL", ""),
            status=status,
            seconds=seconds,
            remote_addr=environ.get("REMOTE_ADDR"),
            endpoint=answer.endpoint,
            request_id=request_id,
        )
        logs.write_request_line(line, self.log_format)
        events.request_answered(answer.endpoint, status, seconds)
        if answer.grant_type is not None:
            events.tokens_issued(answer.grant_type)
        return [answer.body]

    def _authorize(self, environ: dict[str, Any]) -> Answer | None:
        """A code for a portal, to a browser whose session is live and admitted there."""
        if has_body(environ):
            return None
        params = _parameters(environ.get("QUERY_STRING", ""), AUTHORIZE_PARAMETERS)
        if params is None or not params.keys() >= AUTHORIZE_REQUIRED:
            return None
        nonce = params.get("nonce")
        if (
            params["response_type"] != "code"
            or params["code_challenge_method"] != "S256"
            or not CODE_CHALLENGE_PATTERN.match(params["code_challenge"])
            or (nonce is not None and not acceptable_nonce(nonce))
        ):
            return None
        cookie = parse_cookie(environ).get(cookies.cookie_name(COOKIE_NAME))
        issuer = self.settings.public_url
        if cookie is None or not secure_issuer(issuer):
            return None  # the sign-in page, or Authlib's refusal of plain http

        def once() -> str | None:
            with on_connection(db.engine, db.session, begin_at_first_write=True) as connection:
                client = _client(params["client_id"], params["scope"])
                if client is None or not client.check_redirect_uri(params["redirect_uri"]):
                    return None
                return self._code(connection, client, params, cookie)

        code = again_while_transient(once)
        if code is None:
            return None
        answered = [("code", code)]
        if params.get("state"):
            answered.append(("state", params["state"]))
        location = with_issuer(_with_query(params["redirect_uri"], answered), issuer)
        headers = (("Location", location),)
        return Answer(FOUND, REDIRECT_CONTENT_TYPE, headers, b"", "oidc.authorize")

    def _code(
        self, connection: Connection, client: RelyingParty, params: dict[str, str], cookie: str
    ) -> str | None:
        """The code for the person at the door, once the session is noted as signed in to the
        client (single logout); None, having written nothing, when the full path answers."""
        now = utcnow()
        portal = client.client.portal
        arrival = sessions.find_at_door(
            connection,
            cookie,
            client_id=client.client.id,
            portal_id=portal.id,
            now=now,
            lifetimes=self.settings.oidc,
        )
        if arrival is None or arrival.password_must_change:
            return None
        if not _admitted(arrival.state.user_id, portal, arrival.facts, now=now):
            return None  # the full path audits the refusal and answers it
        sessions.note_sign_in(connection, arrival, client.client, now=now)
        code = new_secret()
        tokens.store_code(
            connection,
            code,
            client_id=client.client.id,
            browser_session=arrival.state,
            redirect_uri=params["redirect_uri"],
            scope=params["scope"],
            nonce=params.get("nonce"),
            code_challenge=params["code_challenge"],
            code_challenge_method=params["code_challenge_method"],
            now=now,
            lifetimes=self.settings.oidc,
            sole_write=True,
        )
        return code

    def _token(self, environ: dict[str, Any]) -> Answer | None:
        """Tokens for a code or a refresh token, to its client authenticated by HTTP Basic."""
        body = _form_body(environ)
        if body is None:
            return None
        environ["wsgi.input"] = io.BytesIO(body)  # as it was, for the full path
        params = _parameters(body.decode("ascii", "replace"), CODE_GRANT | REFRESH_GRANT)
        credentials = basic_credentials(environ.get("HTTP_AUTHORIZATION", ""))
        if params is None or credentials is None:
            return None
        grant_type = params.get("grant_type", "")
        expected, issue = self.grants.get(grant_type, (None, None))
        if issue is None or params.keys() != expected:
            return None

        def once() -> dict[str, Any] | None:
            with on_connection(db.engine, db.session, begin_at_first_write=True) as connection:
                client = server.query_client(credentials[0])
                if client is None or not client.check_client_secret(credentials[1]):
                    return None
                return issue(connection, client, params)

        token = again_while_transient(once)
        if token is None:
            return None
        body = json.dumps(token, separators=(",", ":")).encode()
        return Answer(OK, JSON, TOKEN_HEADERS, body, "oidc.token", grant_type)

    def _code_grant(
        self, connection: Connection, client: RelyingParty, params: dict[str, str]
    ) -> dict[str, Any] | None:
        """`idp.oidc.grants.AuthorizationCodeGrant`'s answer to the code's own client."""
        if len(params["code"]) > MAX_TOKEN_LENGTH:
            return None
        now = utcnow()
        portal = client.client.portal
        found = tokens.find_code(connection, params["code"], portal_id=portal.id, now=now)
        if found is None:
            return None
        code = found.code
        if (
            code.client_id != client.client.id
            or code.used_at is not None
            or now >= code.expires_at
            or not session_is_live(found.browser_session, now=now)
            or params["redirect_uri"] != code.redirect_uri
            or not _proven(params["code_verifier"], code.code_challenge, code.code_challenge_method)
            or not _admitted(found.user.id, portal, found.facts, now=now)
        ):
            return None
        bearer = self._bearer(
            client,
            code.scope,
            now=now,
            user_id=found.user.id,
            browser_session=found.browser_session,
            auth_time=code.auth_time,
            code_id=code.id,
        )
        if bearer is None:
            return None
        token, issued = bearer
        if "openid" in token["scope"].split():
            token["id_token"] = signed_id_token(
                client.client,
                found,
                scope=token["scope"],
                access_token=token["access_token"],
                now=now,
                settings=self.settings,
            )
        if not tokens.redeem_code(connection, code.id, now=now, issued=issued, sole_write=True):
            return None  # redeemed meanwhile: the full path revokes what it gave
        return token

    def _refresh_grant(
        self, connection: Connection, client: RelyingParty, params: dict[str, str]
    ) -> dict[str, Any] | None:
        """`idp.oidc.grants.RefreshTokenGrant`'s answer to the token's own client: rotated."""
        if len(params["refresh_token"]) > MAX_TOKEN_LENGTH:
            return None
        now = utcnow()
        portal = client.client.portal
        found = tokens.find_refresh_grant(
            connection, params["refresh_token"], portal_id=portal.id, now=now
        )
        if found is None:
            return None
        row, browser_session = found.token, found.browser_session
        if (
            row.client_id != client.client.id
            or not tokens.refresh_token_is_active(row, now=now)
            or browser_session is None
            or not session_is_live(browser_session, now=now)
            or not _admitted(row.user_id, portal, found.facts, now=now)
        ):
            return None
        bearer = self._bearer(
            client,
            row.scope,
            now=now,
            user_id=row.user_id,
            browser_session=browser_session,
            auth_time=row.auth_time,
            code_id=row.code_id,
            family=row.family,
            refresh_expires_at=row.refresh_expires_at,
        )
        if bearer is None:
            return None
        token, issued = bearer
        sole_write = not sessions.keep_alive_due(browser_session, now=now)
        if not tokens.use_refresh_token(connection, row.id, issued, now=now, sole_write=sole_write):
            return None  # used meanwhile: the full path revokes the family
        sessions.keep_alive(connection, browser_session, now=now)
        return token

    def _bearer(
        self, client: RelyingParty, granted: str, *, now: datetime, **grant: Any
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """A bearer token response for the scope `granted`, as Authlib's generator builds it
        (RFC 6749 §5.1, with a refresh token: every portal may use both grants), and the row
        that keeps its digests bound to the `grant` it comes from (`tokens.new_tokens`, not yet
        stored); None when the client may no longer ask that scope."""
        scope = client.get_allowed_scope(granted)
        if not scope:
            return None
        token = {
            "token_type": "Bearer",
            "access_token": new_secret(),
            "expires_in": self.settings.oidc.access_token_seconds,
            "refresh_token": new_secret(),
            "scope": scope,
        }
        issued = tokens.new_tokens(
            access_token=token["access_token"],
            refresh_token=token["refresh_token"],
            client_id=client.client.id,
            scope=scope,
            now=now,
            lifetimes=self.settings.oidc,
            **grant,
        )
        return token, issued


def _parameters(encoded: str, allowed: frozenset[str]) -> dict[str, str] | None:
    """The parameters of a query or a form, when they are a plain request's: each one allowed,
    given once and not empty, as short as the authorization endpoint requires, without control
    characters and encoded in ASCII (UTF-8 percent-encoded); None otherwise."""
    if not encoded.isascii() or len(encoded) > 3 * MAX_PARAMETERS_LENGTH:
        return None
    try:
        pairs = parse_qsl(
            encoded,
            keep_blank_values=True,
            strict_parsing=True,
            errors="strict",
            max_num_fields=len(allowed),
        )
    except (ValueError, UnicodeDecodeError):
        return None
    params = dict(pairs)
    if len(params) != len(pairs) or not params.keys() <= allowed:
        return None
    lengths = [len(name) + len(value) for name, value in pairs]
    if max(lengths, default=0) > MAX_PARAMETER_LENGTH or sum(lengths) > MAX_PARAMETERS_LENGTH:
        return None
    if not all(value and value.isprintable() for value in params.values()):
        return None
    return params


def _with_query(redirect_uri: str, params: list[tuple[str, str]]) -> str:
    """`redirect_uri` with `params` as Authlib's grant adds them (`add_params_to_uri`), whose
    parsing and re-encoding a URI without a query, parameters or fragment does not need."""
    if any(mark in redirect_uri for mark in "?#;"):
        return add_params_to_uri(redirect_uri, params)
    return f"{redirect_uri}?{urlencode(params)}"


def _client(client_id: str, scope: str) -> RelyingParty | None:
    """The registered client, when the scopes it asks are `openid`'s, each once and each one
    the hub offers and this client may ask."""
    client = server.query_client(client_id)
    if client is None:
        return None
    scopes = scope.split(" ")
    unique = set(scopes)
    if "openid" not in unique or len(unique) != len(scopes):
        return None
    return client if unique <= client.client.scope and unique <= _OFFERED else None


def _admitted(user_id: int, portal: Any, facts: access.AdmissionFacts, *, now: datetime) -> bool:
    """R5 as the full path decides it (`hub.oidc.access.decide`); a refusal is the full path's
    to audit and answer."""
    try:
        access.decide(user_id, portal, facts, now=now)
    except NotAdmitted:
        return False
    return True


def _proven(verifier: str, challenge: str | None, method: str | None) -> bool:
    """PKCE S256 (RFC 7636 §4.6): the verifier hashes to the code's challenge."""
    if not challenge or method != "S256" or not CODE_VERIFIER_PATTERN.match(verifier):
        return False
    return hmac.compare_digest(create_s256_code_challenge(verifier), challenge)


def _form_body(environ: dict[str, Any]) -> bytes | None:
    """The form of a plain token request, read whole; None for any other body."""
    content_type = environ.get("CONTENT_TYPE", "")
    length = environ.get("CONTENT_LENGTH", "")
    if (
        content_type.partition(";")[0].strip().lower() != FORM
        or environ.get("HTTP_TRANSFER_ENCODING")
        or not length.isdigit()
        or int(length) > MAX_FORM_BYTES
    ):
        return None
    body = environ["wsgi.input"].read(int(length))
    return body if len(body) == int(length) else None


def _raise_failure() -> None:
    """`before_request`: the fast path's exception, raised where the full path answers its own
    views' (`idp.web.errors`)."""
    failure = request.environ.pop(FAILURE_KEY, None)
    if failure is not None:
        raise failure


def init_app(app: Flask) -> None:
    """Puts the fast path in front of Flask's `wsgi_app`, unless `FAST_PATH` is False. Called
    before `idp.web.database_wait.init_app`, whose middleware then goes around it."""
    if not app.config.get(CONFIG_KEY, True):
        return
    app.before_request(_raise_failure)
    app.wsgi_app = FastPath(app, app.wsgi_app)  # type: ignore[method-assign]
