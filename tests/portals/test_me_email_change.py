"""« Modifier mes coordonnées » and the e-mail address (issue 6 §2): the form sends a new address
to the hub, which answers the current one until the new one is validated; the page then says
that a confirmation mail was sent."""

from __future__ import annotations

from portals.kit.me.forms import contact_changes, email_pending, form_values


def test_the_email_is_sent_when_given_and_trimmed():
    changes = contact_changes({"last_name": "Martin", "email": "  alice@nouvelle.example "})

    assert changes["email"] == "alice@nouvelle.example"
    assert "email" not in contact_changes({"last_name": "Martin", "email": "  "})


def test_a_new_address_is_pending_while_the_hub_answers_the_old_one():
    changes = {"email": "Alice@Nouvelle.example"}

    assert email_pending(changes, {"email": "alice.martin@alpha.example"}) == (
        "Alice@Nouvelle.example"
    )
    assert email_pending(changes, {"email": "alice@nouvelle.example"}) is None
    assert email_pending({}, {"email": "alice.martin@alpha.example"}) is None


def test_the_form_shows_the_current_address():
    assert form_values({"email": "alice.martin@alpha.example"})["email"] == (
        "alice.martin@alpha.example"
    )
