"""Chat notifications end to end against a stand-in chat platform on 127.0.0.1: the outbox
(a hook that is down never fails or slows a command; `notify flush` delivers later, once),
each platform's message shape and signing, at-most-once under concurrent flushes, the
platforms' error codes, uncertain sends, @mentions, and the config's checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from chat_receiver import Receiver, closed_port
from conftest import CONFIG, ROOT, make_store

from salesctl import yamlio
from salesctl.model.config import parse_config
from salesctl.ops.integrations import notify
from salesctl.store.store import Store

HOOK = """\
notify:
  - name: sales-chat
    url: http://127.0.0.1:${HOOK_PORT}/hook
    format: FORMAT
    on: [deal.won, contract.signed, payment.received, followup.mention]
    users: {bob: U0BOB}
"""


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


@pytest.fixture
def chat_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """make(format, port): a store whose one hook posts to 127.0.0.1:port."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")

    def make(fmt: str = "slack", port: int | None = None) -> Path:
        monkeypatch.setenv("HOOK_PORT", str(port or closed_port()))
        root = make_store(tmp_path / "store", CONFIG + HOOK.replace("FORMAT", fmt))
        monkeypatch.setenv("SALESCTL_STORE", str(root))
        return root

    return make


def sign_contract(cli: Any, title: str = "ERP rollout") -> str:
    # a customer per contract title: the same company twice is refused as a duplicate
    name = "Acme Trading Ltd" if title == "ERP rollout" else f"{title} Ltd"
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", name)["id"]
    contract = ok(
        cli, "--as", "alice", "contract", "add", customer, "--title", title,
        "--amount", "120000", "--signed", "2026-11-18",
    )  # fmt: skip
    return str(contract["id"])


def outbox_files(root: Path) -> list[Path]:
    return sorted((root / ".git" / "salesctl" / "outbox").rglob("*.json"))


def test_contract_signed_while_the_hook_is_down_is_delivered_once_by_flush(
    chat_store: Any, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    root = chat_store("slack", port)
    started = time.monotonic()
    contract = sign_contract(cli)
    assert time.monotonic() - started < 3  # the refused hook did not slow the command

    [waiting] = ok(cli, "notify", "list")
    assert waiting["state"] == "pending" and waiting["event"] == "contract.signed"
    assert waiting["attempts"] == 1 and "cannot connect" in waiting["last_error"]
    for path in outbox_files(root):  # ${HOOK_PORT} is expanded only when sending
        assert f"127.0.0.1:{port}" not in path.read_text(encoding="utf-8")

    with Receiver(port) as receiver:
        assert len(ok(cli, "notify", "flush")["sent"]) == 1
        assert ok(cli, "notify", "flush")["sent"] == []
        another = cli("--as", "alice", "lead", "add", "--company", "Next Co")  # no retry due
        assert another.code == 0
        [message] = receiver.wait_for(1)
    assert message["path"] == "/hook"
    assert set(message["body"]) == {"text"}  # Slack's incoming-webhook shape
    text = message["body"]["text"]
    assert "Contract signed: ERP rollout" in text and "120,000 CNY" in text
    assert "Acme Trading Ltd" in text and "Alice Lin" in text and contract in text
    assert ok(cli, "notify", "list") == []
    assert [r["state"] for r in ok(cli, "notify", "list", "--all")] == ["sent"]


def test_a_platform_error_code_is_retried_and_a_later_flush_delivers(
    chat_store: Any, cli: Any
) -> None:
    with Receiver() as receiver:
        chat_store("dingtalk", receiver.port)
        receiver.mode = "errcode"  # DingTalk answers 200 with errcode 310000
        sign_contract(cli)
        [waiting] = ok(cli, "notify", "list")
        assert waiting["state"] == "pending" and "310000" in waiting["last_error"]
        receiver.mode = "ok"
        assert len(ok(cli, "notify", "flush")["sent"]) == 1
        messages = receiver.wait_for(2)
    assert len(messages) == 2
    body = messages[1]["body"]
    assert body["msgtype"] == "markdown" and "Contract signed" in body["markdown"]["title"]
    assert "120,000 CNY" in body["markdown"]["text"]


def test_a_send_without_an_answer_is_uncertain_and_not_repeated_unless_asked(
    chat_store: Any, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Receiver() as receiver:
        chat_store("wecom", receiver.port)
        receiver.mode = "drop"  # reads the message, then hangs up without answering
        sign_contract(cli)
        assert len(receiver.wait_for(1)) == 1
        [entry] = ok(cli, "notify", "list")
        assert entry["state"] == "uncertain"
        receiver.mode = "ok"
        assert ok(cli, "notify", "flush")["sent"] == []  # it may have arrived: not again
        assert len(ok(cli, "notify", "flush", "--resend-uncertain")["sent"]) == 1
        messages = receiver.wait_for(2)
    assert len(messages) == 2
    assert messages[1]["body"]["msgtype"] == "markdown"
    assert "**Contract signed: ERP rollout**" in messages[1]["body"]["markdown"]["content"]

    with Receiver() as slow:
        monkeypatch.setenv("HOOK_PORT", str(slow.port))  # the platform is slow now
        slow.mode, slow.delay = "slow", 4.0
        started = time.monotonic()
        sign_contract(cli, "Slow answer")
        # the budget, not the platform, decides
        assert time.monotonic() - started < notify.INLINE_BUDGET + 1.5


def test_concurrent_flushes_send_each_message_once(chat_store: Any) -> None:
    with Receiver() as receiver:
        root = chat_store("generic", receiver.port)
        events = [("payment.received", {"payment": f"P-{n}", "amount": "10"}) for n in range(20)]
        notify.enqueue(Store(root), "c0ffee" * 7, events)
        assert len(outbox_files(root)) == 20
        flushes = [threading.Thread(target=notify.flush, args=(Store(root),)) for _ in range(4)]
        for thread in flushes:
            thread.start()
        for thread in flushes:
            thread.join()
        messages = receiver.wait_for(20)
        time.sleep(0.2)
        assert len(receiver.messages) == 20
    deliveries = {m["headers"]["X-Salesctl-Delivery"] for m in messages}
    assert len(deliveries) == 20
    assert sorted(m["body"]["data"]["payment"] for m in messages) == sorted(
        f"P-{n}" for n in range(20)
    )


def test_mentions_in_a_follow_up_at_the_member_on_the_platform(chat_store: Any, cli: Any) -> None:
    with Receiver() as receiver:
        chat_store("slack", receiver.port)
        lead = ok(cli, "--as", "alice", "lead", "add", "--company", "Globex")["id"]
        ok(cli, "--as", "alice", "followup", "add", lead, "--text", "@bob can you call them?")
        [message] = receiver.wait_for(1)
    text = message["body"]["text"]
    assert "Alice Lin mentioned Bob Li" in text and "<@U0BOB>" in text and lead in text


def test_an_unset_variable_in_the_url_keeps_the_message_waiting(
    chat_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = chat_store("feishu")
    monkeypatch.delenv("HOOK_PORT")
    notify.enqueue(Store(root), "ab" * 20, [("deal.won", {"deal": "D-1", "title": "Big"})])
    result = notify.flush(Store(root))
    assert len(result.retrying) == 1
    [entry] = notify.list_outbox(Store(root))
    assert entry["last_error"] == "environment variable HOOK_PORT is not set"


def _config(hooks: str) -> Any:
    config, problems = parse_config(yamlio.loads(CONFIG + hooks))
    assert problems == []
    return config


def test_each_format_has_its_platforms_shape_and_signature(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAT_SECRET", "SECabc123")
    config = _config(
        "notify:\n"
        + "".join(
            f"  - {{name: {fmt}, url: 'https://chat.example/{fmt}?k=1', format: {fmt},"
            " secret: '${CHAT_SECRET}', on: [followup.mention], users: {bob: '13800000000'}}\n"
            for fmt in ("slack", "dingtalk", "feishu", "wecom", "generic")
        )
    )
    entry = {
        "id": "abc-0",
        "event": "followup.mention",
        "commit": "abc",
        "payload": {"record": "L-1", "author": "alice", "mentions": ["bob"], "text": "call"},
    }
    sent = {h.name: notify.build_request(config, h, entry) for h in notify.hooks_of(config)}
    bodies = {name: json.loads(body) for name, (_url, body, _headers) in sent.items()}

    assert bodies["slack"] == {"text": "*Alice Lin mentioned Bob Li*\nOn L-1: call\n<@13800000000>"}
    ding_url = urlsplit(sent["dingtalk"][0])
    query = parse_qs(ding_url.query)
    expected = hmac.new(
        b"SECabc123", f"{query['timestamp'][0]}\nSECabc123".encode(), hashlib.sha256
    ).digest()
    assert query["sign"] == [base64.b64encode(expected).decode()] and query["k"] == ["1"]
    assert bodies["dingtalk"]["msgtype"] == "markdown"
    assert bodies["dingtalk"]["markdown"]["title"] == "Alice Lin mentioned Bob Li"
    assert bodies["dingtalk"]["at"] == {
        "atMobiles": ["13800000000"],
        "atUserIds": [],
        "isAtAll": False,
    }
    feishu = bodies["feishu"]
    assert feishu["msg_type"] == "text" and "Bob Li" in feishu["content"]["text"]
    key = f"{feishu['timestamp']}\nSECabc123".encode()
    assert feishu["sign"] == base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
    assert bodies["wecom"]["msgtype"] == "markdown"
    assert bodies["wecom"]["markdown"]["content"].endswith("<@13800000000>")
    generic_body, generic_headers = sent["generic"][1], sent["generic"][2]
    assert bodies["generic"]["event"] == "followup.mention"
    assert bodies["generic"]["data"]["mentions"] == ["bob"]
    assert generic_headers["X-Salesctl-Signature"] == "sha256=" + notify.signature(
        "SECabc123", generic_body
    )
    assert generic_headers["X-Salesctl-Delivery"] == "abc-0-generic"


def test_the_config_names_each_bad_key_of_notify_and_routing() -> None:
    _, problems = parse_config(
        yamlio.loads(
            CONFIG
            + """\
notify:
  - {url: 'ftp://x', format: teams, on: [deal.lost]}
  - {format: slack, users: {zed: U1}}
  - url: https://ok.example/${GOOD}/${bad
    format: generic
  - {url: https://ok.example/a, format: slack, events: [deal.won]}
  - {url: '${WHOLE_URL}', format: feishu}
routing:
  - {match: {source: web}, to: nobody}
  - {match: {colour: red}, team: east, pool: true}
  - {to: carol}
  - {match: {source: [expo, fair]}, team: east}
"""
        )
    )
    keys = {p.field for p in problems}
    assert keys == {
        "notify[0].url",
        "notify[0].format",
        "notify[0].on[0]",
        "notify[1].url",
        "notify[1].users.zed",
        "notify[2].url",
        "routing[0].to",
        "routing[1].match.colour",
        "routing[1]",
        "routing[2].to",  # carol is inactive
    }


def test_stores_without_hooks_queue_nothing_and_plain_commands_skip_notify(
    store: Path, cli: Any
) -> None:
    sign_contract(cli)
    assert not (store / ".git" / "salesctl" / "outbox").exists()
    probe = (
        "import sys; from salesctl.cli.app import run; "
        "code = run(['--as', 'alice', 'lead', 'add', '--company', 'Quiet Co']); "
        "print(code, 'salesctl.ops.integrations.notify' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.split()[-2:] == ["0", "False"]
