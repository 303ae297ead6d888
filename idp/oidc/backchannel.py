"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0): posting the logout tokens that
`hub.oidc.logout` queued to the portals.

`deliver_now` posts a logout's tokens during the person's logout request, all at once, so that
single logout is done when the page says so; it waits a few seconds at most
(`Settings.logout_wait_seconds`). Whatever failed or is still unanswered by then stays in the
queue: `deliver_due` makes one pass over it (`hub logout deliver`, tests), and `LogoutWorker`
runs that every second in a thread of `hub run`, next to the mail sender. The worker polls
rather than being woken because logouts are committed by the web workers, other processes.
Both claim a delivery before posting it (`hub.oidc.logout.claim`), so a token is never posted
twice at once.

Portals check a logout token's `exp` (two minutes), so a retry after that carries a new token
for the same logout, signed with the hub's current key.

requests is imported by the functions that post, not with this module: every web worker imports
it (the logout endpoint does), but needs requests only once someone logs out of a portal that
asked for back-channel logout.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from hub.clock import utcnow
from hub.database import is_disconnect
from hub.oidc import logout
from hub.oidc.logout import LOGOUT_TOKEN_TYPE, DueDelivery, Outcome
from hub.oidc.models import OidcClient
from hub.polling import PollingWorker
from idp.metrics import events
from idp.oidc.signing import key_ring

if TYPE_CHECKING:
    import requests

log = logging.getLogger("hub.oidc.logout")

TIMEOUT = (5.0, 5.0)  # seconds to connect, seconds to answer
ACCEPTED = {200, 204}  # §2.8: 200; « some Web frameworks will substitute » 204
FRESH_FOR = timedelta(seconds=30)  # a stored token expiring sooner is reissued before sending
ERROR_LENGTH = 300
THREAD_NAME_PREFIX = "hub-logout-delivery"  # the threads of `deliver_now`


def sign_logout_token(session: Session, client: OidcClient, claims: dict[str, Any]) -> str:
    """A logout token as §2.4 wants it: typ `logout+jwt`, signed with the client's algorithm."""
    return key_ring.sign(
        session, claims, alg=client.id_token_signed_response_alg, typ=LOGOUT_TOKEN_TYPE
    )


@dataclass
class DeliveryReport:
    delivered: int = 0
    retried: int = 0
    abandoned: int = 0

    @property
    def total(self) -> int:
        return self.delivered + self.retried + self.abandoned

    def count(self, outcome: Outcome) -> None:
        if outcome is Outcome.DELIVERED:
            self.delivered += 1
        elif outcome is Outcome.ABANDONED:
            self.abandoned += 1
        else:
            self.retried += 1


def _claims_of(token: str) -> dict[str, Any]:
    """The payload of a token this hub signed and stored itself (no signature to check: it
    never left the database, and its key may have been unpublished since)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def current_token(
    session_factory: sessionmaker[Session], due: DueDelivery, *, now: datetime
) -> str:
    """The stored token while it is fresh; otherwise the same logout in a new token."""
    claims = _claims_of(due.logout_token)
    if claims["exp"] >= (now + FRESH_FOR).timestamp():
        return due.logout_token
    with session_factory() as session:
        return key_ring.sign(
            session,
            logout.reissued_claims(claims, now=now),
            alg=due.alg,
            typ=LOGOUT_TOKEN_TYPE,
        )


def post(http: requests.Session, uri: str, logout_token: str) -> str | None:
    """Posts the token as §2.5 says; returns why the portal did not take it, or None. A
    redirect is not followed: the portal registered this exact address."""
    import requests  # on first use: see the module docstring

    try:
        response = http.post(
            uri,
            data={"logout_token": logout_token},
            timeout=TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        return f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
    if response.status_code in ACCEPTED:
        return None
    body = " ".join(response.text.split())
    return f"HTTP {response.status_code} {body}".strip()[:ERROR_LENGTH]


def _deliver(
    session_factory: sessionmaker[Session],
    http: requests.Session,
    due: DueDelivery,
    clock: Callable[[], datetime],
) -> Outcome:
    if due.uri is None:
        return logout.record_attempt(
            session_factory,
            due,
            now=clock(),
            logout_token=due.logout_token,
            error="le portail ne demande plus de déconnexion back-channel",
            give_up=True,
        )
    token = current_token(session_factory, due, now=clock())
    error = post(http, due.uri, token)
    outcome = logout.record_attempt(
        session_factory, due, now=clock(), logout_token=token, error=error
    )
    if outcome is not Outcome.DELIVERED:
        events.backchannel_failed(outcome.value)
    return outcome


def deliver_due(
    session_factory: sessionmaker[Session],
    *,
    now: datetime | None = None,
    batch: int = 100,
    due_only: bool = True,
    stop: threading.Event | None = None,
) -> DeliveryReport:
    """Posts up to `batch` due logout tokens (every pending one, back-off or not, when
    `due_only` is false); `stop` interrupts between two posts."""
    import requests  # on first use: see the module docstring

    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = DeliveryReport()
    pending = logout.due_ids(session_factory, now=clock(), limit=batch, due_only=due_only)
    with requests.Session() as http:
        for delivery_id in pending:
            if stop is not None and stop.is_set():
                break
            due = logout.claim(session_factory, delivery_id, now=clock(), due_only=due_only)
            if due is not None:
                report.count(_deliver(session_factory, http, due, clock))
    return report


def deliver_now(
    session_factory: sessionmaker[Session], delivery_ids: Sequence[int], *, wait_seconds: float
) -> DeliveryReport:
    """Posts the logout tokens of a logout just committed, one thread per portal, and returns
    once every portal answered or after `wait_seconds`, with what was known by then.

    Each delivery is claimed here first, exactly as the sender claims it, and its lease keeps
    the sender away while it is posted. Each thread records its own outcome with its own
    database sessions (from `session_factory`; never the request's): a portal answering after
    the wait still counts as delivered, and a failure goes to the sender's queue with its
    back-off. The threads outlive the request when a portal is slow, for as long as
    `TIMEOUT` lets a post last."""
    now = utcnow()
    # Not `due_only`: the deliveries were born leased to this very request (`logout.log_out`).
    claims = (logout.claim(session_factory, id_, now=now, due_only=False) for id_ in delivery_ids)
    claimed = [due for due in claims if due is not None]
    report = DeliveryReport()
    if not claimed:
        return report
    pool = ThreadPoolExecutor(max_workers=len(claimed), thread_name_prefix=THREAD_NAME_PREFIX)
    posts = {pool.submit(_deliver_alone, session_factory, due): due for due in claimed}
    pool.shutdown(wait=False)  # its threads end with their posts, after this request if need be
    answered, unanswered = wait(posts, timeout=wait_seconds)
    for post in answered:
        report.count(post.result())
    for post in unanswered:
        due = posts[post]
        log.warning(
            "logout %s to %s: no answer within %s s; the logout page did not wait for it",
            due.id,
            due.client_id,
            wait_seconds,
        )
    return report


def _deliver_alone(session_factory: sessionmaker[Session], due: DueDelivery) -> Outcome:
    """One delivery in a thread of its own, with its own connection. An error (the database
    gone while recording) is logged: the sender retries the delivery once its lease is over."""
    import requests  # on first use: see the module docstring

    try:
        with requests.Session() as http:
            return _deliver(session_factory, http, due, utcnow)
    except Exception as error:
        if not is_disconnect(error):
            log.exception(
                "logout %s to %s: delivery failed, left to the sender", due.id, due.client_id
            )
        else:  # the database went away: one line, not a traceback per portal
            log.warning(
                "logout %s to %s: the database is unavailable, left to the sender",
                due.id,
                due.client_id,
            )
        return Outcome.RETRY


class LogoutWorker(PollingWorker):
    """Delivers due logout tokens every `poll_seconds`, until stopped."""

    name = "logout worker"

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        poll_seconds: float = 1.0,
        batch: int = 100,
    ) -> None:
        super().__init__(poll_seconds, self._deliver)
        self.session_factory = session_factory
        self.batch = batch

    def _deliver(self, stop: threading.Event) -> bool:
        """True when the batch was full: more deliveries are probably due."""
        report = deliver_due(self.session_factory, batch=self.batch, stop=stop)
        return report.total >= self.batch
