"""`HUB_LOG_FORMAT=json` (issue 16): one JSON object per line on standard error, for every
request and every log event, with the request id the response echoed; never a query string
(OAuth codes travel there), a single-use link's token, a password or a cookie."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from hub.demo import DEMO_PASSWORD
from idp import create_app
from idp.logs import REQUEST_LOGGER
from tests.idp.oidc.conftest import Portal
from tests.idp.signing_in import submit_login


@pytest.fixture
def settings(settings):
    return replace(settings, log_format="json")


def json_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]


def request_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == REQUEST_LOGGER]


def test_one_line_per_request_with_the_echoed_request_id_and_no_query_string(client, capsys):
    capsys.readouterr()
    response = client.get(
        "/healthz?code=the-code&state=s", headers={"X-Forwarded-For": "198.51.100.7"}
    )

    [line] = request_lines(json_lines(capsys))
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert {key: line[key] for key in ("method", "path", "status", "endpoint", "level")} == {
        "method": "GET",
        "path": "/healthz",
        "status": 200,
        "endpoint": "health.healthz",
        "level": "INFO",
    }
    assert line["remote_addr"] == "127.0.0.1"  # no trusted proxy: the header is not believed
    assert isinstance(line["duration_ms"], float)
    assert line["timestamp"].endswith("+00:00")
    assert "the-code" not in json.dumps(line)


def test_a_sign_in_leaves_no_password_cookie_or_token_in_the_lines(client, demo, capsys):
    capsys.readouterr()
    submit_login(client, "alice.martin", DEMO_PASSWORD)
    client.get("/register/confirm/a-single-use-token-from-a-mail")

    output = capsys.readouterr().err
    lines = [json.loads(line) for line in output.splitlines() if line.strip()]
    assert [line["path"] for line in request_lines(lines)] == [
        "/login",
        "/login",
        "/register/confirm/[hidden]",
    ]
    for secret in (DEMO_PASSWORD, "hub_sso", "csrf", "a-single-use-token-from-a-mail"):
        assert secret not in output


def test_log_events_are_json_lines_with_the_request_id_and_the_exception(app, capsys):
    @app.get("/test-only/fails")
    def fails():
        try:
            raise ValueError("something broke")
        except ValueError:
            logging.getLogger("hub.test").exception("while testing")
        return "ok"

    capsys.readouterr()
    response = app.test_client().get("/test-only/fails")
    logging.getLogger("hub.test").warning("outside any request")

    lines = json_lines(capsys)
    [event] = [line for line in lines if line["message"] == "while testing"]
    assert (event["level"], event["logger"]) == ("ERROR", "hub.test")
    assert event["request_id"] == response.headers["X-Request-Id"]
    assert "ValueError: something broke" in event["exception"]
    [outside] = [line for line in lines if line["message"] == "outside any request"]
    assert "request_id" not in outside


def test_creating_the_app_again_does_not_repeat_lines(settings, app, capsys):
    again = create_app(settings, TESTING=True)
    capsys.readouterr()

    again.test_client().get("/healthz")

    assert len(request_lines(json_lines(capsys))) == 1


def test_text_mode_takes_the_json_lines_away(settings, app, capsys):
    text = create_app(replace(settings, log_format="text"), TESTING=True)
    capsys.readouterr()

    text.test_client().get("/healthz")
    logging.getLogger("hub.test").warning("in text mode")

    assert "{" not in capsys.readouterr().err


def test_the_protocol_s_fast_path_writes_the_same_lines(client, demo, sign_in_as, capsys):
    """A portal's plain sign-on is answered before Flask (`idp.oidc.fast_path`): its lines
    name the endpoints as the full path's do, with the echoed id and no code or state."""
    sign_in_as(client, "alice.martin")
    portal = Portal("soltea", client, client)
    capsys.readouterr()
    code, authorization = portal.code()
    response = portal.exchange(code, authorization.verifier)

    authorize, token = request_lines(json_lines(capsys))
    assert (authorize["path"], authorize["status"], authorize["endpoint"]) == (
        "/authorize",
        302,
        "oidc.authorize",
    )
    assert (token["path"], token["status"], token["endpoint"]) == ("/token", 200, "oidc.token")
    assert token["request_id"] == response.headers["X-Request-Id"]
    assert token["remote_addr"] == "127.0.0.1"
    assert code not in json.dumps(authorize)
    assert authorization.state not in json.dumps(authorize)
