"""The default text mode's request lines (`idp.logs`): one per request on standard error, as a
web server's access log reads, with the request id the response echoed — and, unlike the web
server's own access log, never a query string or a single-use link's token."""

from __future__ import annotations

import re

from hub.demo import DEMO_PASSWORD
from tests.idp.signing_in import submit_login

LINE = re.compile(
    r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] (?P<addr>\S+) - "
    r'"(?P<method>[A-Z]+) (?P<path>\S+) (?P<protocol>HTTP/1\.1)" (?P<status>\d{3}) '
    r"(?P<ms>\d+\.\d{3}) (?P<request_id>\S+)$"
)


def request_lines(capsys) -> list[dict[str, str]]:
    lines = capsys.readouterr().err.splitlines()
    return [match.groupdict() for line in lines if (match := LINE.match(line))]


def test_one_line_per_request_with_the_echoed_request_id_and_no_query_string(client, capsys):
    capsys.readouterr()
    response = client.get("/healthz?code=the-code&state=s")

    [line] = request_lines(capsys)
    assert line == {
        "addr": "127.0.0.1",
        "method": "GET",
        "path": "/healthz",
        "protocol": "HTTP/1.1",
        "status": "200",
        "ms": line["ms"],
        "request_id": response.headers["X-Request-Id"],
    }


def test_a_sign_in_and_a_link_leave_no_password_cookie_or_token_in_the_lines(client, demo, capsys):
    capsys.readouterr()
    submit_login(client, "alice.martin", DEMO_PASSWORD)
    client.get("/register/confirm/a-single-use-token-from-a-mail")

    output = capsys.readouterr().err
    paths = [line["path"] for line in map(LINE.match, output.splitlines()) if line]
    assert paths == ["/login", "/login", "/register/confirm/[hidden]"]
    for secret in (DEMO_PASSWORD, "hub_sso", "csrf", "a-single-use-token-from-a-mail"):
        assert secret not in output
