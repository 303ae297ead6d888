"""Issue 12 §1: no input reaches the database or a parser unchecked. Every route of the hub's URL
map, with every method, receives hostile values — NUL and other control characters, 100 kB
strings, invalid UTF-8, lone surrogates and deep nesting in JSON, hostile path segments and
headers — anonymously and with credentials that take the views past their authentication (a
signed-in browser with its CSRF token, a portal's bearer token, a portal's client credentials),
on SQLite and PostgreSQL: never a 5xx.

Each route's parameters are the ones its views read: a plausible request per route and method
records them (`ReadKeys`), then each gets each hostile value, alone and among plausible others.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import pytest
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Rule

from hub.config import Throttling
from idp.api.openapi import DOCUMENT
from tests.idp.oidc.conftest import PORTALS, Portal, basic
from tests.idp.signing_in import csrf_token_of

API_SCOPE = "openid profile email accounts admin"
NEVER_THROTTLED = Throttling(delay_after=10**6, user_lock_after=10**6, ip_lock_after=10**6)

# Sent, percent-encoded, as a query or form value.
HOSTILE_TEXT = {
    "NUL": "soltea\x00",
    "control characters": "a\x01\x08\x0b\x1b[2J\x7f\x85b",
    "line breaks and tabs": "/\t/evil.example\r\n",
    "quotes, markup, non-ASCII": "\"'<b>\\é\u202e\ufffd",
    "10 kB": "x" * 10_000,
    "100 kB": "x" * 100_000,
}
INVALID_UTF8 = "%FF%FE%C0%AF"  # raw bytes, never valid UTF-8
HOSTILE_QUERY = {name: quote(value, safe="") for name, value in HOSTILE_TEXT.items()}
HOSTILE_QUERY["invalid UTF-8"] = INVALID_UTF8

# JSON texts, as a member's value.
HOSTILE_JSON_VALUES = {
    "NUL": r'"soltea\u0000"',
    "control characters": r'"a\u0001\u001b\u007f\u0085"',
    "lone surrogate": r'"\ud800"',
    "100 kB": json.dumps("x" * 100_000),
    "deep array": "[" * 1000 + "]" * 1000,
    "deep object": '{"a":' * 1000 + "1" + "}" * 1000,
    "5,000 digits": "9" * 5000,
}
# Whole bodies sent as application/json.
HOSTILE_JSON_BODIES = {
    "deep array": b"[" * 1000 + b"]" * 1000,
    "invalid UTF-8": b'{"email": "\xff\xfe"}',
    "lone surrogate key": rb'{"\udfff": 1}',
    "NUL key": rb'{"\u0000": 1}',
    "truncated": b'{"email": ',
    "not an object": b'["x"]',
    "no body": b"",
}

# What a portal or a browser plausibly sends: the baseline that finds which parameters a view
# reads, and the company a hostile value keeps.
PLAUSIBLE = {
    "client_id": "soltea",
    "response_type": "code",
    "redirect_uri": PORTALS["soltea"][1],
    "scope": "openid profile",
    "state": "state-123",
    "nonce": "nonce-123",
    "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    "code_challenge_method": "S256",
    "grant_type": "authorization_code",
    "code": "some-code",
    "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "token": "some-token",
    "next": "/",
    "portal": "soltea",
    "username": "alice.martin",
    "login": "alice.martin",
    "password": "Demo-Password-2026!",
}
PLAUSIBLE_QUERY = {name: quote(value, safe="") for name, value in PLAUSIBLE.items()}
PLAUSIBLE_SEGMENTS = {
    "matricule": "100001",
    "portal_code": "soltea",
    "account_id": "1",
    "token": "abc",
    "filename": "hub.css",
}
HOSTILE_SEGMENTS = [
    "%00",
    "soltea%00",
    "%FF%FE",
    "%0A%0D",
    "x" * 5000,
    "9" * 40,  # no integer column holds it
    "..%2F..%2Fetc%2Fpasswd",
]
HOSTILE_HEADERS = {
    "Authorization": [
        "Bearer soltea\x00",
        "Bearer " + "x" * 10_000,
        "Basic " + base64.b64encode(b"soltea\x00:secret").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xc0").decode(),
    ],
    "User-Agent": ["Mozilla\x00", "x" * 10_000],
    "X-Request-Id": ["abcdefgh\x00", "\x01" * 20],
    "Cookie": ["hub_sso=abc\x00; hub_csrf=x\x00.y", "hub_sso=" + "x" * 4000],
    "Content-Type": ["application/json; charset=\x00", "multipart/form-data; boundary=\x00"],
}
_PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
OAUTH_CLIENT_ENDPOINTS = {"oidc.token", "oidc.revoke", "oidc.introspect"}
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.fixture
def settings(settings):
    """Failed sign-ins are not throttled here: every hostile attempt reaches the views; the
    support console is open, on the demo's embedded directory, so that its pages are tried too
    (a console without a directory answers one 503 page before any view)."""
    return replace(
        settings, throttling=NEVER_THROTTLED, support=replace(settings.support, demo_directory=True)
    )


def routes(app) -> Iterator[tuple[Rule, str]]:
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def path_of(rule: Rule, **segments: str) -> str:
    """The rule's path, its variables filled with `segments` or plausible values."""

    def value(match: re.Match[str]) -> str:
        return segments.get(match[1], PLAUSIBLE_SEGMENTS.get(match[1], "1"))

    return _PLACEHOLDER.sub(value, rule.rule)


def encoded(params: dict[str, str]) -> str:
    """A query or form body: plausible values percent-encoded, hostile ones already are."""
    return "&".join(f"{quote(name, safe='')}={value}" for name, value in params.items())


def recording_keys(app) -> set[str]:
    """Makes `app` note every query and form parameter its views look up; returns the set."""
    read: set[str] = set()

    class ReadKeys(ImmutableMultiDict):
        def __getitem__(self, key):
            read.add(key)
            return super().__getitem__(key)

        def __contains__(self, key):
            read.add(key)
            return super().__contains__(key)

        def getlist(self, key, type=None):
            read.add(key)
            return super().getlist(key, type)

    class RecordingRequest(app.request_class):
        parameter_storage_class = ReadKeys

    app.request_class = RecordingRequest
    return read


@dataclass
class Caller:
    """One way of calling a route: a test client with its cookies, the headers that
    authenticate it, and the CSRF token its forms carry."""

    name: str
    client: Any
    headers: dict[str, str] = field(default_factory=dict)
    csrf_token: str = ""


@dataclass
class Sweep:
    """Sends requests and keeps every 5xx (TESTING propagates the exception a 500 would
    hide), one line per route, method and error."""

    make_callers: Callable[[Rule], list[Caller]]
    server_errors: dict[tuple[str, str, str], str] = field(default_factory=dict)
    requests: int = 0

    def send(self, caller: Caller, method: str, path: str, **kwargs: Any) -> None:
        headers = {**caller.headers, **kwargs.pop("headers", {})}
        self.requests += 1
        try:
            response = caller.client.open(path, method=method, headers=headers, **kwargs)
        except Exception as error:
            self._note(repr(error)[:160], caller, method, path, headers, kwargs)
            return
        if response.status_code >= 500:
            self._note(str(response.status_code), caller, method, path, headers, kwargs)

    def send_params(self, caller: Caller, method: str, rule: Rule, params: dict[str, str]) -> None:
        """`params` (percent-encoded) in the query of a GET, in a form body otherwise."""
        body = encoded({"csrf_token": caller.csrf_token, **params})
        if method == "GET":
            self.send(caller, method, path_of(rule), query_string=body)
        else:
            self.send(caller, method, path_of(rule), data=body, content_type=FORM)

    def _note(self, what: str, caller: Caller, method: str, path: str, headers, kwargs) -> None:
        sent = {k: (v[:60] if isinstance(v, str | bytes) else v) for k, v in kwargs.items()}
        example = f"{path[:100]} as {caller.name}, {headers}, {sent}"
        self.server_errors.setdefault((what, method, path[:100]), example)

    def report(self) -> None:
        assert self.requests > 0
        lines = [
            f"{what}: {method} {example}"
            for (what, method, _), example in self.server_errors.items()
        ]
        assert not lines, "\n".join(lines)


@pytest.fixture
def sweep(app, demo, sign_in_as) -> Sweep:
    def signed_in_browser() -> tuple[Any, str]:
        browser = app.test_client()
        sign_in_as(browser, "alice.martin")
        return browser, csrf_token_of(browser.get("/password/change").text)

    def bearer() -> str:
        browser = app.test_client()
        sign_in_as(browser, "alice.martin")
        party = Portal("soltea", browser, app.test_client(), scope=API_SCOPE)
        return party.sign_in()["access_token"]

    def make_callers(rule: Rule) -> list[Caller]:
        anonymous = app.test_client()
        token = csrf_token_of(anonymous.get("/login").text)
        callers = [Caller("anonymous", anonymous, csrf_token=token)]
        if rule.endpoint in OAUTH_CLIENT_ENDPOINTS:
            headers = basic("soltea", PORTALS["soltea"][0])
            callers.append(Caller("soltea's back end", app.test_client(), headers))
        elif rule.rule.startswith("/api/") or rule.endpoint == "oidc.userinfo":
            headers = {"Authorization": f"Bearer {bearer()}"}
            callers.append(Caller("bearer of alice.martin", app.test_client(), headers))
        else:
            browser, token = signed_in_browser()
            callers.append(Caller("alice.martin's browser", browser, csrf_token=token))
        return callers

    return Sweep(make_callers)


def _read_parameters(
    sweep: Sweep, read: set[str], callers: list[Caller], rule: Rule, method: str
) -> set[str]:
    """The parameters the views of `rule` read, from plausible requests of each caller."""
    read.clear()
    for caller in callers:
        sweep.send_params(caller, method, rule, {})
        sweep.send_params(caller, method, rule, PLAUSIBLE_QUERY)
    return set(read) - {"csrf_token"}


def test_hostile_query_and_form_values_never_get_a_5xx(app, sweep):
    read = recording_keys(app)
    for rule, method in routes(app):
        callers = sweep.make_callers(rule)
        for name in sorted(_read_parameters(sweep, read, callers, rule, method)):
            for value in HOSTILE_QUERY.values():
                for caller in callers:
                    sweep.send_params(caller, method, rule, {name: value})
                    sweep.send_params(caller, method, rule, PLAUSIBLE_QUERY | {name: value})
    sweep.report()


def _json_members() -> set[str]:
    members: set[str] = set()
    schemas = DOCUMENT["components"]["schemas"]

    def walk(schema: dict[str, Any]) -> None:
        if "$ref" in schema:
            walk(schemas[schema["$ref"].rsplit("/", 1)[1]])
        members.update(schema.get("properties", {}))
        for nested in schema.get("oneOf", []) + schema.get("anyOf", []):
            walk(nested)

    for operations in DOCUMENT["paths"].values():
        for operation in operations.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                walk(body["schema"])
    return members


def test_hostile_json_bodies_never_get_a_5xx(app, sweep):
    members = sorted(_json_members())
    for rule, method in routes(app):
        path = path_of(rule)
        for caller in sweep.make_callers(rule):
            for body in HOSTILE_JSON_BODIES.values():
                sweep.send(caller, method, path, data=body, content_type=JSON)
            if method == "GET":
                continue
            for member in members:
                for value in HOSTILE_JSON_VALUES.values():
                    body = f'{{"{member}": {value}}}'.encode()
                    sweep.send(caller, method, path, data=body, content_type=JSON)
    sweep.report()


def test_hostile_path_segments_never_get_a_5xx(app, sweep):
    for rule, method in routes(app):
        names = _PLACEHOLDER.findall(rule.rule)
        if not names:
            continue
        for caller in sweep.make_callers(rule):
            for name in names:
                for segment in HOSTILE_SEGMENTS:
                    data = {"csrf_token": caller.csrf_token} if method != "GET" else None
                    sweep.send(caller, method, path_of(rule, **{name: segment}), data=data)
    sweep.report()


def test_hostile_headers_never_get_a_5xx(app, sweep):
    for rule, method in routes(app):
        for caller in sweep.make_callers(rule):
            for header, values in HOSTILE_HEADERS.items():
                for value in values:
                    sweep.send(
                        caller,
                        method,
                        path_of(rule),
                        headers={"Content-Type": FORM, header: value},
                        data=encoded({"csrf_token": caller.csrf_token, **PLAUSIBLE_QUERY}),
                    )
    sweep.report()
