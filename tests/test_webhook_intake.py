"""The webhook intake without a server (``Intake``, as ``serve`` calls it, and its ASGI app):
delivery ids kept per endpoint (and the delivery log of an older salesctl still honoured),
payments refused field by field, naming the JSON field rather than a CLI flag, and a log
that shows what a request sent escaped."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, git, make_store

from salesctl import clock
from salesctl.ops.integrations.intake import Intake
from salesctl.ops.integrations.intake_fields import FieldErrors
from salesctl.serve_http import create_app
from salesctl.serve_limits import loggable

BOT_CONFIG = CONFIG.replace(
    "members:\n",
    "members:\n  - {id: intake, name: Intake Bot, email: intake@acme.example, role: intake}\n",
) + ("roles:\n  intake: {scope: all, actions: [lead.add, contract.pay]}\n")


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = make_store(tmp_path / "store", BOT_CONFIG)
    monkeypatch.setenv("SALESCTL_STORE", str(path))
    return path


@pytest.fixture
def contract(root: Path, cli: Any) -> str:
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme Trading Ltd")["id"]
    signed = (clock.today() - dt.timedelta(days=10)).isoformat()
    return ok(  # type: ignore[no-any-return]
        cli, "--as", "alice", "contract", "add", customer, "--title", "ERP",
        "--amount", "1000", "--signed", signed,
    )["id"]  # fmt: skip


def payment(contract: str, transaction: str, days_ago: int = 1, **extra: Any) -> dict[str, Any]:
    paid = clock.today() - dt.timedelta(days=days_ago)
    body = {"contract": contract, "amount": "10", "transaction_id": transaction}
    return {**body, "paid_at": paid.isoformat(), **extra}


def test_a_delivery_id_is_the_endpoints_own(root: Path, contract: str) -> None:
    intake = Intake(root, "intake")
    created, lead = intake.add_lead({"company": "Deliv Co"}, "d-1")
    assert created and lead["kind"] == "lead"
    created, paid = intake.add_payment(payment(contract, "t1"), "d-1")  # another sender's "d-1"
    assert created and paid["kind"] == "payment" and paid["contract"] == contract
    created, again = intake.add_payment(payment(contract, "t1"), "d-1")
    assert not created and again["repeated"] and again["id"] == paid["id"]
    assert "endpoint" not in again
    created, again = intake.add_lead({"company": "Other Co"}, "d-1")
    assert not created and again["id"] == lead["id"]


def test_an_older_delivery_log_is_still_honoured(root: Path, contract: str) -> None:
    """Ids remembered by the id alone (before they were kept per endpoint) still answer
    their own endpoint, so an upgrade applies no delivery twice, and only that one."""
    intake = Intake(root, "intake")

    def remember(delivery: str, answer: dict[str, Any]) -> None:
        name = hashlib.sha256(delivery.encode()).hexdigest()[:40] + ".json"
        text = json.dumps({"delivery": delivery, **answer})
        (intake.log.folder / name).write_text(text, encoding="utf-8")

    remember("old-lead", {"id": "L-0000000000AA", "kind": "lead", "duplicate": False})
    remember("old-pay", {"id": "P-0000000000AA", "kind": "payment", "duplicate": False})
    before = commits(root)
    created, answer = intake.add_lead({"company": "Again Co"}, "old-lead")
    assert not created and answer["id"] == "L-0000000000AA" and answer["repeated"]
    created, answer = intake.add_payment(payment(contract, "t9"), "old-pay")
    assert not created and answer["id"] == "P-0000000000AA"
    assert commits(root) == before
    created, _answer = intake.add_payment(payment(contract, "t9"), "old-lead")
    assert created  # a lead's old id is no payment's
    assert commits(root) == before + 1


def test_a_payment_is_refused_by_its_json_fields(root: Path, contract: str) -> None:
    intake = Intake(root, "intake")
    before = commits(root)
    for body, field in [
        (payment(contract, "t1", days_ago=-3), "paid_at"),  # in the future
        (payment(contract, "t2", days_ago=30), "paid_at"),  # before the signing
        (payment(contract[:3], "t3"), "contract"),  # a prefix: a machine gives the whole id
        (payment(contract[:-1], "t4"), "contract"),
    ]:
        with pytest.raises(FieldErrors) as refused:
            intake.add_payment(body, None)
        assert set(refused.value.fields) == {field}, body
        assert "--" not in str(refused.value), refused.value  # no CLI flag
    assert commits(root) == before
    created, paid = intake.add_payment(payment(contract.lower(), "t5", days_ago=0), None)
    assert created and paid["contract"] == contract  # the full id, in either case


def asgi_post(app: Any, path: str) -> int:
    """The status of a bodyless POST of ``path`` (as the server decodes it) to ``app``."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": [], "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 40000),
    }  # fmt: skip
    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"])


def test_the_log_shows_control_characters_escaped(
    root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(Intake(root, "intake"), b"0123456789abcdef0123")
    with caplog.at_level(logging.INFO, logger="salesctl.serve"):
        assert asgi_post(app, "/leadsFAKE\x1b[31m\x07\u202e\x9b2J") == 404
    [line] = [r.getMessage() for r in caplog.records if r.name == "salesctl.serve"]
    assert "POST /leadsFAKE\\x1b[31m\\x07\\u202e\\x9b2J 404" in line
    assert line.isprintable()
    assert loggable("a\r\nb\\c 中文") == "a\\r\\nb\\\\c 中文"  # one line, unambiguous
