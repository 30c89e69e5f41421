"""Feedback through ``serve`` (the real server on a loopback port): salesctl's own signed
JSON at ``POST /feedback``, GitHub issue and discussion events (``X-Hub-Signature-256``) and
Discourse post events (``X-Discourse-Event-Signature``), with payloads shaped like each
platform's documented examples. A wrong signature is 401, an event not taken 202, a source
whose secret is unset 404; a repeated delivery writes nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.request
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import pytest
from conftest import git, make_store
from test_serve import NO_PROXY, SERVE_CONFIG, request, serve  # noqa: F401 - the fixture

from salesctl.store.store import Store

GITHUB_SECRET = "github-secret-0123456789"
DISCOURSE_SECRET = "discourse-secret-0123456789"
CONFIG = SERVE_CONFIG.replace(
    "actions: [lead.add, contract.pay]", "actions: [lead.add, feedback.add]"
)


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Any) -> Path:
    path = make_store(tmp_path / "store", CONFIG)
    monkeypatch.setenv("SALESCTL_STORE", str(path))
    monkeypatch.setenv("SALESCTL_GITHUB_SECRET", GITHUB_SECRET)
    monkeypatch.setenv("SALESCTL_DISCOURSE_SECRET", DISCOURSE_SECRET)
    customer = cli("--as", "alice", "customer", "add", "--name", "Octo", "-f", "json").json()
    cli("--as", "alice", "contact", "add", customer["id"], "--name", "Mona",
        "--email", "mona@octo-corp.com")  # fmt: skip
    return path


def post(url: str, payload: Any, headers: dict[str, str], secret: str, header: str) -> Any:
    """(status, answer) of ``payload`` signed the source's way (secret "" signs wrongly)."""
    body = json.dumps(payload).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    sent = {"Content-Type": "application/json", header: f"sha256={digest}", **headers}
    req = urllib.request.Request(url, data=body, headers=sent, method="POST")
    try:
        with NO_PROXY.open(req, timeout=60) as response:
            return response.status, json.loads(response.read())
    except HTTPError as exc:
        text = exc.read()
        return exc.code, json.loads(text) if text.startswith(b"{") else text


# Shaped like GitHub's documented `issues` (opened) and `discussion` (created) examples.
ISSUE_OPENED = {
    "action": "opened",
    "issue": {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/issues/1",
        "html_url": "https://github.com/Codertocat/Hello-World/issues/1",
        "id": 444500041,
        "node_id": "MDU6SXNzdWU0NDQ1MDAwNDE=",
        "number": 1,
        "title": "Spelling error in the README file",
        "user": {"login": "Codertocat", "id": 21031067, "type": "User", "site_admin": False},
        "labels": [],
        "state": "open",
        "locked": False,
        "assignee": None,
        "comments": 0,
        "created_at": "2019-05-15T15:20:18Z",
        "author_association": "OWNER",
        "body": "It looks like you accidently spelled 'commit' with two 't's.",
    },
    "repository": {
        "id": 186853002,
        "name": "Hello-World",
        "full_name": "Codertocat/Hello-World",
        "html_url": "https://github.com/Codertocat/Hello-World",
    },
    "sender": {
        "login": "Codertocat",
        "id": 21031067,
        "html_url": "https://github.com/Codertocat",
        "type": "User",
        "site_admin": False,
        "email": "mona@octo-corp.com",
    },
}
DISCUSSION_CREATED = {
    "action": "created",
    "discussion": {
        "repository_url": "https://api.github.com/repos/octo-org/octo-repo",
        "category": {"id": 6, "name": "Ideas", "slug": "ideas", "is_answerable": False},
        "html_url": "https://github.com/octo-org/octo-repo/discussions/90",
        "id": 6090,
        "node_id": "MDEwOkRpc2N1c3Npb242MDkw",
        "number": 90,
        "title": "Welcome to discussions!",
        "user": {"login": "octocat", "id": 21031067, "type": "User"},
        "state": "open",
        "comments": 0,
        "created_at": "2021-03-05T19:24:44Z",
        "author_association": "OWNER",
        "body": "We're glad to have you here!",
    },
    "repository": {"id": 17273051, "full_name": "octo-org/octo-repo"},
    "sender": {"login": "octocat", "id": 21031067, "type": "User"},
}
# Shaped like Discourse's `post_created` webhook body.
POST_CREATED = {
    "post": {
        "id": 22644,
        "name": "Marcus Baw",
        "username": "pacharanero",
        "avatar_template": "/user_avatar/forum.example.com/pacharanero/{size}/2066_1.png",
        "created_at": "2018-06-04T08:11:40.805Z",
        "cooked": "<p>The export to Excel times out on big reports.</p>",
        "raw": "The export to Excel times out on big reports.",
        "post_number": 1,
        "post_type": 1,
        "updated_at": "2018-06-04T08:11:40.805Z",
        "reply_count": 0,
        "reply_to_post_number": None,
        "topic_id": 6047,
        "topic_slug": "export-times-out",
        "topic_title": "Export times out",
        "topic_posts_count": 1,
        "post_url": "/t/export-times-out/6047/1",
        "user_id": 1,
        "hidden": False,
        "trust_level": 1,
        "deleted_at": None,
        "user_deleted": False,
    }
}


def github(url: str, event: str, payload: Any, delivery: str, secret: str = GITHUB_SECRET) -> Any:
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
    return post(url + "/feedback/github", payload, headers, secret, "X-Hub-Signature-256")


def discourse(
    url: str, event: str, payload: Any, event_id: str, secret: str = DISCOURSE_SECRET
) -> Any:
    headers = {
        "X-Discourse-Instance": "https://forum.example.com",
        "X-Discourse-Event-Id": event_id,
        "X-Discourse-Event-Type": event.split("_")[0],
        "X-Discourse-Event": event,
    }
    return post(
        url + "/feedback/discourse", payload, headers, secret, "X-Discourse-Event-Signature"
    )


def feedback_of(root: Path, feedback_id: str) -> dict[str, Any]:
    store = Store(root)
    data = store.read(store.resolve(feedback_id, ("feedback",))).to_json()
    return data  # type: ignore[no-any-return]


def test_github_issues_and_discussions_become_feedback_once(root: Path, serve: Any) -> None:  # noqa: F811
    url = serve(root).url
    before = commits(root)
    assert github(url, "issues", ISSUE_OPENED, "d-1", secret="wrong")[0] == 401
    assert commits(root) == before
    status, answer = github(url, "issues", ISSUE_OPENED, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert status == 201 and answer["kind"] == "feedback"
    issue = feedback_of(root, answer["id"])
    assert issue["source"] == "github" and issue["sender"] == "Codertocat"
    assert issue["link"] == "https://github.com/Codertocat/Hello-World/issues/1"
    assert issue["text"].startswith("Spelling error in the README file\n\nIt looks like")
    assert issue["matched_by"] == "contact-email" and issue["owner"] == "alice"
    again = github(url, "issues", ISSUE_OPENED, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
    assert again == (200, {"id": answer["id"], "kind": "feedback", "duplicate": True})
    assert commits(root) == before + 1
    status, answer = github(url, "discussion", DISCUSSION_CREATED, "d-2")
    assert status == 201
    talk = feedback_of(root, answer["id"])
    assert talk["path"].startswith("feedback/") and talk["sender"] == "octocat"  # triage
    closed = dict(ISSUE_OPENED, action="closed")
    assert github(url, "issues", closed, "d-3")[0] == 202
    assert github(url, "ping", {"zen": "Keep it logically awesome."}, "d-4")[0] == 202
    assert commits(root) == before + 2


def test_discourse_posts_become_feedback_once(root: Path, serve: Any) -> None:  # noqa: F811
    url = serve(root).url
    before = commits(root)
    assert discourse(url, "post_created", POST_CREATED, "1", secret="wrong")[0] == 401
    status, answer = discourse(url, "post_created", POST_CREATED, "1")
    assert status == 201
    post_ = feedback_of(root, answer["id"])
    assert post_["source"] == "discourse" and post_["sender"] == "pacharanero"
    assert post_["link"] == "https://forum.example.com/t/export-times-out/6047/1"
    assert post_["text"] == "Export times out\n\nThe export to Excel times out on big reports."
    assert discourse(url, "post_created", POST_CREATED, "1")[0] == 200
    assert discourse(url, "post_edited", POST_CREATED, "2")[0] == 202
    assert discourse(url, "topic_created", {"topic": {"id": 1}}, "3")[0] == 202
    assert commits(root) == before + 1


def test_own_json_is_signed_like_leads_and_bad_fields_are_400(root: Path, serve: Any) -> None:  # noqa: F811
    url = serve(root).url + "/feedback"
    before = commits(root)
    body = {"source": "wechat-group", "text": "导出很慢", "email": "li@octo-corp.com"}
    assert request(url, body, signature="sha256=00")[0] == 401
    status, answer = request(url, body, delivery="fb-1")
    assert status == 201
    assert feedback_of(root, answer["id"])["matched_by"] == "domain"
    assert request(url, body, delivery="fb-1")[0] == 200
    status, answer = request(url, {"source": "x", "text": 3, "mood": "bad"})
    assert status == 400 and set(answer["fields"]) == {"text", "mood"}
    assert commits(root) == before + 1


def test_a_source_without_a_secret_is_404(
    root: Path,
    serve: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SALESCTL_GITHUB_SECRET")
    url = serve(root).url
    assert github(url, "issues", ISSUE_OPENED, "d-1")[0] == 404
    assert discourse(url, "post_created", POST_CREATED, "1")[0] == 201
