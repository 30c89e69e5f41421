"""Customer feedback from where customers talk: salesctl's own JSON, GitHub issue and
discussion events, Discourse post events. Each source signs its deliveries its own way
(an HMAC-SHA256 of the raw body, ``sha256=<hex>``, with the source's secret); this module
verifies the signature and turns the event into a ``FeedbackInput`` the intake records
(``Intake.add_feedback``), or into None for an event it does not take (``serve`` answers
202). Secrets come from the environment only: a source whose secret is unset is off (404).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from salesctl.ops.integrations.intake_fields import FieldErrors
from salesctl.ops.integrations.platform_signatures import BadSignature

GITHUB_SECRET_ENV = "SALESCTL_GITHUB_SECRET"  # noqa: S105 - the variable's name
DISCOURSE_SECRET_ENV = "SALESCTL_DISCOURSE_SECRET"  # noqa: S105 - the variable's name
SOURCE_ENV = {"github": GITHUB_SECRET_ENV, "discourse": DISCOURSE_SECRET_ENV}
# (X-GitHub-Event, action) taken as feedback: a new issue, a new discussion
GITHUB_TAKES = {("issues", "opened"): "issue", ("discussion", "created"): "discussion"}
FIELDS = ("source", "text", "author", "email", "phone", "link")
MAX_TEXT = 20_000  # a post longer than this is cut: feedback is read, not archived


@dataclass(frozen=True)
class FeedbackInput:
    source: str
    text: str
    author: str | None = None
    email: str | None = None
    phone: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class Sources:
    """The secrets of the feedback sources that are on."""

    secrets: Mapping[str, bytes] = field(default_factory=dict)

    @classmethod
    def from_environment(cls) -> Sources:
        found = {name: os.environ.get(env, "") for name, env in SOURCE_ENV.items()}
        return cls({name: value.encode() for name, value in found.items() if value})

    def enabled(self) -> dict[str, bool]:
        return {name: name in self.secrets for name in SOURCE_ENV}


def verify(secret: bytes, body: bytes, header: str | None, name: str) -> None:
    """``header`` must be ``sha256=<hex HMAC-SHA256 of body>``, compared in constant time."""
    expected = b"sha256=" + hmac.new(secret, body, "sha256").hexdigest().encode()
    given = (header or "").strip().encode("latin-1", "replace")
    if not header or not hmac.compare_digest(expected, given):
        raise BadSignature(f"missing or wrong {name} (sha256=HMAC of the body)")


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def own_feedback(body: Any) -> FeedbackInput:
    """salesctl's own JSON: ``{"source", "text", "author", "email", "phone", "link"}``."""
    if not isinstance(body, dict):
        raise FieldErrors("feedback", {"": "expected a JSON object"})
    errors = {k: "expected text" for k in FIELDS if k in body and not isinstance(body[k], str)}
    errors.update({k: "unknown field" for k in body if k not in FIELDS})
    for required in ("source", "text"):
        if not _text(body.get(required)) and required not in errors:
            errors[required] = "is required"
    if errors:
        raise FieldErrors("feedback", errors)
    values = {k: _text(body.get(k)) for k in FIELDS}
    return FeedbackInput(**values)  # type: ignore[arg-type]


def github_feedback(event: str | None, payload: Any) -> FeedbackInput | None:
    """An opened issue or a created discussion: its title and body, its author's login
    (and email when GitHub sends one), its page. Anything else: None."""
    if not isinstance(payload, dict):
        raise FieldErrors("GitHub event", {"": "expected a JSON object"})
    what = GITHUB_TAKES.get((event or "", str(payload.get("action"))))
    if what is None:
        return None
    item = payload.get(what)
    if not isinstance(item, dict):
        raise FieldErrors("GitHub event", {what: "expected an object"})
    found = payload.get("sender")
    sender: dict[str, Any] = found if isinstance(found, dict) else {}
    title, text = _text(item.get("title")), _text(item.get("body"))
    content = "\n\n".join(t for t in (title, text) if t)
    if not content:
        raise FieldErrors("GitHub event", {f"{what}.title": "is empty"})
    return FeedbackInput(
        source="github",
        text=content[:MAX_TEXT],
        author=_text(sender.get("login")),
        email=_text(sender.get("email")),
        link=_text(item.get("html_url")),
    )


def discourse_feedback(
    event_type: str | None, event: str | None, payload: Any, instance: str | None
) -> FeedbackInput | None:
    """A new post (``post`` / ``post_created``): its topic's title and the post's text (the
    Markdown ``raw``, else the HTML ``cooked``), its author's username, its URL on the
    forum (``X-Discourse-Instance`` + ``post_url``). Anything else: None."""
    if event_type != "post" or event != "post_created":
        return None
    post = payload.get("post") if isinstance(payload, dict) else None
    if not isinstance(post, dict):
        raise FieldErrors("Discourse event", {"post": "expected an object"})
    title, text = _text(post.get("topic_title")), _text(post.get("raw") or post.get("cooked"))
    content = "\n\n".join(t for t in (title, text) if t)
    if not content:
        raise FieldErrors("Discourse event", {"post.raw": "is empty"})
    path = _text(post.get("post_url"))
    if path is None and _text(post.get("topic_slug")) and post.get("topic_id"):
        path = f"/t/{post['topic_slug']}/{post['topic_id']}"
    base = (instance or "").rstrip("/")
    link = f"{base}{path}" if path and path.startswith("/") and base else path
    return FeedbackInput(
        source="discourse", text=content[:MAX_TEXT], author=_text(post.get("username")), link=link
    )
