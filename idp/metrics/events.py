"""The counters of what happens in requests, and the one function that counts each event.

Labels take few values, always: a Flask endpoint name (never a path, which anybody can vary),
a status code, an outcome from a fixed list. Names start with `hub_`."""

from __future__ import annotations

import functools
from typing import Literal

from prometheus_client import Counter, Histogram

SignInOutcome = Literal["success", "failure", "throttled"]
RefusalPlace = Literal["authorize", "token"]
UNMATCHED = "unmatched"  # the endpoint label of a request no route took (404, 405)

REQUESTS = Counter(
    "hub_http_requests",
    "HTTP requests answered, by Flask endpoint and status",
    ["endpoint", "status"],
)
REQUEST_SECONDS = Histogram(
    "hub_http_request_duration_seconds",
    "Time to answer an HTTP request, by Flask endpoint",
    ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SIGN_INS = Counter("hub_sign_ins", "Password sign-ins at the hub's page, by outcome", ["outcome"])
REFUSALS = Counter(
    "hub_portal_access_refusals",
    "R5: a person refused on a portal, at the authorization endpoint or the token endpoint",
    ["at", "reason"],
)
TOKENS = Counter("hub_tokens_issued", "Token responses issued, by grant type", ["grant_type"])
BACKCHANNEL_FAILURES = Counter(
    "hub_backchannel_logout_failures",
    "Back-channel logout posts a portal refused or did not answer (retried or abandoned)",
    ["outcome"],
)

GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})


def request_answered(endpoint: str | None, status: int, seconds: float) -> None:
    answered, duration = _request_series(endpoint or UNMATCHED, status)
    answered.inc()
    duration.observe(seconds)


@functools.cache  # every request asks; the labels take few values
def _request_series(endpoint: str, status: int) -> tuple[Counter, Histogram]:
    return REQUESTS.labels(endpoint, str(status)), REQUEST_SECONDS.labels(endpoint)


def sign_in(outcome: SignInOutcome) -> None:
    SIGN_INS.labels(outcome=outcome).inc()


def access_refused(at: RefusalPlace, reason: str) -> None:
    """`reason` is the refusal's code (`account_expired`, `no_account`): a fixed list."""
    REFUSALS.labels(at=at, reason=reason).inc()


def tokens_issued(grant_type: str) -> None:
    if grant_type in GRANT_TYPES:  # the form's value: only the grants the hub offers
        TOKENS.labels(grant_type=grant_type).inc()


def backchannel_failed(outcome: str) -> None:
    """`outcome`: `retry` or `abandoned` (`hub.oidc.logout.Outcome`)."""
    BACKCHANNEL_FAILURES.labels(outcome=outcome).inc()
