"""A person's browser for end-to-end tests: one `requests.Session` (its cookie jar shared by the
hub and both portals on 127.0.0.1, like a real browser's), following redirects, and filling in
HTML forms the way a person would — by their labels' fields, keeping hidden inputs (CSRF)."""

from __future__ import annotations

import html
import html.parser
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import requests

DEMO_PASSWORD = "Demo-Password-2026!"  # DESIGN.md §4


@dataclass
class Form:
    action: str | None
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    inputs: list[tuple[str, str]] = field(default_factory=list)  # (name, type)


class _FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = Form(values.get("action"), values.get("method", "get").lower())
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and values.get("name"):
            kind = values.get("type", "text").lower()
            self._current.inputs.append((values["name"], kind))
            if kind in ("radio", "checkbox") and "checked" not in values:
                return
            self._current.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_of(page: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(page)
    return parser.forms


class Browser:
    def __init__(self) -> None:
        self.session = requests.Session()

    def get(self, url: str, **kwargs) -> requests.Response:
        return self.session.get(url, timeout=30, **kwargs)

    def submit(
        self, response: requests.Response, values: dict[str, str] | None = None, *, action: str = ""
    ) -> requests.Response:
        """Submits the form of `response` whose action contains `action`, with `values` over
        what the page filled in."""
        form = next(
            (f for f in forms_of(response.text) if action in (f.action or "")),
            None,
        )
        assert form is not None, f"no form with action {action!r} on {response.url}"
        target = urljoin(response.url, form.action or response.url)
        data = form.fields | (values or {})
        if form.method == "post":
            return self.session.post(target, data=data, timeout=30)
        return self.session.get(target, params=data, timeout=30)

    def sign_in_at_hub(
        self, response: requests.Response, username: str, password: str = DEMO_PASSWORD
    ) -> requests.Response:
        """On the hub's sign-in page: identifiant and password, as a person types them."""
        assert 'type="password"' in response.text, f"not a sign-in page: {response.url}"
        form = next(f for f in forms_of(response.text) if any(t == "password" for _, t in f.inputs))
        login_field = next(n for n, t in form.inputs if t in ("text", "email"))
        password_field = next(n for n, t in form.inputs if t == "password")
        return self.submit(
            response,
            {login_field: username, password_field: password},
            action=form.action or "",
        )

    def sign_in(
        self, portal: str, username: str | None = None, password: str = DEMO_PASSWORD
    ) -> requests.Response:
        """« Me connecter » on `portal`; types the password at the hub only if asked."""
        response = self.get(f"{portal}/auth/login")
        if username is not None and 'type="password"' in response.text:
            response = self.sign_in_at_hub(response, username, password)
        return response

    def log_out(self, portal: str) -> requests.Response:
        """« Se déconnecter » from any page of `portal`."""
        return self.submit(self.get(f"{portal}/"), action="/auth/logout")


def text(response: requests.Response) -> str:
    """What a person reads on the page: its body without tags, entities decoded, spaces
    collapsed."""
    body = response.text.split("<body", 1)[-1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def asked_for_password(response: requests.Response) -> bool:
    return any('type="password"' in r.text for r in (*response.history, response))
