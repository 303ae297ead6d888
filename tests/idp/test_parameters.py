"""The hub's requests hold their query and form parameters in `Parameters`, whose `get` answers
exactly as werkzeug's does (it only skips werkzeug's raised and caught KeyError for an absent
parameter)."""

from __future__ import annotations

import pytest
from flask import request
from werkzeug.datastructures import ImmutableMultiDict

from idp.input_guard import Parameters

PAIRS = [("scope", "openid"), ("scope", "email"), ("max_age", "60"), ("prompt", "")]


@pytest.mark.parametrize(
    ("key", "options"),
    [
        ("scope", {}),  # repeated: the first value
        ("prompt", {}),  # present, empty
        ("prompt", {"default": "login"}),
        ("nonce", {}),  # absent
        ("nonce", {"default": "n-0"}),
        ("max_age", {"type": int}),
        ("scope", {"type": int, "default": -1}),  # a value the type refuses: the default
        ("nonce", {"type": int, "default": -1}),
    ],
)
def test_get_answers_as_werkzeugs(key, options):
    assert Parameters(PAIRS).get(key, **options) == ImmutableMultiDict(PAIRS).get(key, **options)


def test_a_request_holds_its_query_and_form_in_it(app):
    with app.test_request_context("/token?a=1", method="POST", data={"b": "2"}):
        assert isinstance(request.args, Parameters)
        assert isinstance(request.form, Parameters)
        assert (request.args.get("a"), request.form.get("b"), request.form.get("c")) == (
            "1",
            "2",
            None,
        )
