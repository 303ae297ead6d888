"""A loopback party answering the hub's administration API with fixed JSON, for the unit-level
tests of the « Administration » pages (rendering, forms, CSRF, the hub's refusals). It follows
the contract of portals/kit/admin/api.py and records every call; the real API is exercised
end to end in tests/e2e/test_administration.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fixtures.loopback import QuietHandler, serving
from tests.fixtures.ports import HOST


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str | None


Answer = tuple[int, Any]
Responder = Callable[[Call], Answer]


@dataclass
class HubApiParty:
    port: int = 0
    answers: dict[tuple[str, str], Answer | Responder] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"http://{HOST}:{self.port}"

    def answer(self, method: str, path: str, body: Any = None, *, status: int = 200) -> None:
        """What `method` on `/api/v1{path}` answers (a callable answers from the call)."""
        self.answers[(method, f"/api/v1{path}")] = body if callable(body) else (status, body)

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path == f"/api/v1{path}"]

    def respond(self, call: Call) -> Answer:
        self.calls.append(call)
        answer = self.answers.get((call.method, call.path))
        if answer is None:
            return 404, {"error": "not_found", "message": "Élément introuvable."}
        return answer(call) if callable(answer) else answer


def _handler(party: HubApiParty) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            call = Call(
                method=self.command,
                path=parts.path,
                query={name: values[-1] for name, values in parse_qs(parts.query).items()},
                body=json.loads(raw) if raw else None,
                authorization=self.headers.get("Authorization"),
            )
            status, body = party.respond(call)
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_DELETE = _serve

    return Handler


@contextmanager
def running_hub_api() -> Iterator[HubApiParty]:
    party = HubApiParty()
    with serving(_handler(party)) as port:
        party.port = port
        yield party
