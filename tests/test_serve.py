"""``salesctl serve`` end to end: the real server (uvicorn) on a loopback port, signed HTTP
requests, real git stores. Leads: one commit by the bot with the delivery trailer, 401 for
a bad signature, idempotent deliveries (also in a fresh clone), duplicates, routing, bad
input, 50 concurrent deliveries. Payments: recorded once, announced once. --push, and the
command itself."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import pytest
import yaml
from chat_receiver import Receiver, closed_port
from conftest import CONFIG, ROOT, git, make_store

from salesctl.ops.integrations.intake import Intake
from salesctl.serve import IntakeServer, pull_rebase_push
from salesctl.store.store import Store

SECRET = "test-secret-0123456789abcdef"
SERVE_CONFIG = CONFIG.replace(
    "members:\n",
    "members:\n  - {id: intake, name: Intake Bot, email: intake@acme.example, role: intake}\n",
) + (
    "roles:\n"
    "  intake: {scope: all, actions: [lead.add, contract.pay]}\n"
    "custom_fields:\n"
    "  contract:\n"
    "    - {name: order_ref}\n"
    "routing:\n"
    "  - {match: {source: website}, to: alice}\n"
    "  - {match: {source: expo}, team: east}\n"
    "notify:\n"
    "  - {url: 'http://127.0.0.1:${HOOK_PORT}/hook', format: generic, on: [payment.received]}\n"
)
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Running:
    root: Path
    url: str
    server: IntakeServer


def request(
    url: str,
    payload: Any = None,
    *,
    delivery: str | None = None,
    signature: str | None = None,
    content_type: str = "application/json",
    method: str = "POST",
) -> tuple[int, Any]:
    """(status, JSON answer) of a request signed with SECRET unless ``signature`` is given
    ("" sends none)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": content_type}
    if signature is None:
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    if signature:
        headers["X-Salesctl-Signature"] = signature
    if delivery:
        headers["X-Salesctl-Delivery"] = delivery
    data = body if method == "POST" else None
    req = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with NO_PROXY.open(req, timeout=60) as response:
            return response.status, json.loads(response.read())
    except HTTPError as exc:
        text = exc.read()
        return exc.code, json.loads(text) if text.startswith(b"{") else text


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def wait_until(check: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def healthy(url: str) -> bool:
    try:
        with NO_PROXY.open(url + "/healthz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Running]]:
    """start(root, push=False): the intake server on a free loopback port, as the bot."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("HOOK_PORT", os.environ.get("HOOK_PORT") or str(closed_port()))
    running: list[tuple[IntakeServer, threading.Thread]] = []

    def start(root: Path, *, push: bool = False) -> Running:
        store = Store(root)
        server = IntakeServer(
            store, store.identify("intake"), SECRET, push_commits=push, log_level="warning"
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        running.append((server, thread))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        assert wait_until(lambda: healthy(url)), "the server did not come up"
        return Running(root, url, server)

    yield start
    for server, thread in running:
        server.stop()
        thread.join(timeout=20)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = make_store(tmp_path / "store", SERVE_CONFIG)
    monkeypatch.setenv("SALESCTL_STORE", str(path))
    return path


def test_a_signed_lead_lands_in_the_pool_as_one_commit_by_the_bot(
    root: Path, serve: Callable[..., Running]
) -> None:
    run = serve(root)
    before = commits(root)
    status, answer = request(
        run.url + "/leads",
        {
            "company": "Initech",
            "name": "Peter Gibbons",
            "email": "peter@initech.example",
            "phone": "+86 138 0000 1111",
            "tags": ["web"],
            "notes": "Asked for a demo\nnext week",
        },
        delivery="form-0001",
    )
    assert status == 201, answer
    lead_id = answer["id"]
    assert lead_id.startswith("L-") and answer["owner"] is None and not answer["duplicate"]
    assert commits(root) == before + 1
    head = git(root, "log", "-1", "--format=%an <%ae>|%(trailers:key=Salesctl-Delivery,valueonly)")
    assert head.strip() == "Intake Bot <intake@acme.example>|form-0001"
    message = git(root, "log", "-1", "--format=%B")
    assert f"Salesctl-Action: lead.add\nSalesctl-Record: {lead_id}\n" in message
    data = yaml.safe_load((root / "pool" / "leads" / lead_id / "lead.yaml").read_text("utf-8"))
    assert data["company"] == "Initech" and data["stage"] == "new" and data["tags"] == ["web"]
    assert data["notes"] == "Asked for a demo\nnext week"
    assert git(root, "status", "--porcelain") == ""


def test_a_bad_or_missing_signature_is_401_and_writes_nothing(
    root: Path, serve: Callable[..., Running]
) -> None:
    run = serve(root)
    before = git(root, "rev-parse", "HEAD")
    lead = json.dumps({"company": "Evil Corp"}).encode()
    other = hmac.new(SECRET.encode(), b'{"company": "Nice Corp"}', hashlib.sha256).hexdigest()
    wrong = hmac.new(b"not-the-secret-at-all", lead, hashlib.sha256).hexdigest()
    for signature in ("", "sha256=" + wrong, "sha256=" + other, "sha1=" + wrong, "sha256="):
        status, answer = request(run.url + "/leads", lead, signature=signature, delivery="x-1")
        assert status == 401, (signature, answer)
    assert git(root, "rev-parse", "HEAD") == before
    assert not (root / "pool").exists()
    assert request(run.url + "/leads", lead, delivery="x-1")[0] == 201  # the id was not used


def test_a_repeated_delivery_returns_the_first_lead_also_in_a_fresh_clone(
    root: Path, serve: Callable[..., Running], tmp_path: Path
) -> None:
    run = serve(root)
    status, first = request(run.url + "/leads", {"company": "Hooli"}, delivery="evt-7")
    assert status == 201
    status, again = request(run.url + "/leads", {"company": "Hooli (retry)"}, delivery="evt-7")
    assert status == 200 and again["id"] == first["id"] and again["repeated"] is True
    assert len(list((root / "pool" / "leads").iterdir())) == 1

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(clone)], check=True)
    intake = Intake(clone, "intake")
    assert intake.log.catch_up() == 1  # rebuilt from the Salesctl-Delivery trailer
    created, answer = intake.add_lead({"company": "Pied Piper"}, "evt-7")
    assert not created and answer["id"] == first["id"]
    assert not (clone / "pool" / "leads" / "Pied Piper").exists()
    assert commits(clone) == commits(root)


def test_bad_requests_are_refused_with_the_reason_and_write_nothing(
    root: Path, serve: Callable[..., Running]
) -> None:
    run = serve(root)
    before = commits(root)
    status, answer = request(
        run.url + "/leads",
        {
            "company": "",
            "email": "not-an-email",
            "stage": "won",
            "owner": "carol",
            "colour": "red",
            "tags": "vip",
            "custom": {"region": "north"},
        },
    )
    assert status == 400
    assert set(answer["fields"]) == {
        "company",
        "email",
        "stage",
        "owner",
        "colour",
        "custom.region",
    }
    assert "carol is inactive" in answer["fields"]["owner"]
    assert request(run.url + "/leads", {"name": "Ok"}, content_type="text/plain")[0] == 415
    big = json.dumps({"company": "Big", "notes": "x" * 70_000}).encode()
    assert request(run.url + "/leads", big)[0] == 413
    assert request(run.url + "/leads", b"{not json")[0] == 400
    twice = request(run.url + "/leads", b'{"company": "A", "owner": "alice", "owner": "bob"}')
    assert twice[0] == 400 and "'owner' appears twice" in twice[1]["error"]
    assert request(run.url + "/leads", [{"company": "A list"}])[0] == 400
    assert request(run.url + "/leads", {"company": "A"}, delivery="no spaces!")[0] == 400
    assert request(run.url + "/leads", method="GET")[0] == 405
    assert commits(root) == before


def test_duplicates_of_existing_leads_are_not_created_again(
    root: Path, serve: Callable[..., Running], cli: Any
) -> None:
    existing = ok(
        cli, "--as", "alice", "lead", "add", "--company", "Umbrella Corp",
        "--email", "ceo@umbrella.example", "--phone", "13900001111",
    )["id"]  # fmt: skip
    run = serve(root)
    before = commits(root)
    for lead in (
        {"name": "Albert Wesker", "email": " CEO@Umbrella.example"},
        {"company": "umbrella corp.", "source": "website"},
        {"name": "Someone", "phone": "+86 139-0000-1111"},
    ):
        status, answer = request(run.url + "/leads", lead)
        assert (status, answer["id"], answer["duplicate"]) == (200, existing, True)
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Initech Ltd")["id"]
    before = commits(root)
    status, answer = request(run.url + "/leads", {"company": "INITECH LIMITED"})
    assert (status, answer) == (200, {"id": customer, "kind": "customer", "duplicate": True})
    assert commits(root) == before


def test_leads_go_to_their_owner_else_a_routing_rule_else_the_pool(
    root: Path, serve: Callable[..., Running]
) -> None:
    run = serve(root)

    def owner_of(lead: dict[str, Any]) -> str | None:
        status, answer = request(run.url + "/leads", lead)
        assert status == 201, answer
        return answer["owner"]  # type: ignore[no-any-return]

    assert owner_of({"company": "Web Co", "source": "website"}) == "alice"
    # team east round-robin among its active reps (carol is inactive), least loaded first
    assert owner_of({"company": "Expo One", "source": "Expo"}) == "bob"
    assert owner_of({"company": "Expo Two", "source": "expo"}) == "alice"
    assert owner_of({"company": "Expo Three", "source": "expo"}) == "bob"
    assert owner_of({"company": "Named", "source": "website", "owner": "nora"}) == "nora"
    assert owner_of({"company": "Cold Co", "source": "cold call"}) is None
    assert len(list((root / "teams" / "east" / "bob" / "leads").iterdir())) == 2
    assert len(list((root / "teams" / "north" / "nora" / "leads").iterdir())) == 1


def test_fifty_concurrent_deliveries_all_land_once(
    root: Path, serve: Callable[..., Running], cli: Any
) -> None:
    run = serve(root)
    before = commits(root)
    # every delivery is sent twice at the same time, as an impatient sender would
    jobs = [(n, f"bulk-{n:03d}") for n in range(50)] * 2

    def send(job: tuple[int, str]) -> tuple[str, int, str]:
        n, delivery = job
        lead = {"company": f"Concurrent {n} Ltd", "email": f"buyer{n}@c{n}.example"}
        status, answer = request(run.url + "/leads", lead, delivery=delivery)
        return delivery, status, answer["id"]

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(send, jobs))
    statuses = sorted(status for _d, status, _id in results)
    assert statuses == [200] * 50 + [201] * 50
    ids: dict[str, set[str]] = {}
    for delivery, _status, lead_id in results:
        ids.setdefault(delivery, set()).add(lead_id)
    assert all(len(found) == 1 for found in ids.values())
    assert len(list((root / "pool" / "leads").iterdir())) == 50
    assert commits(root) == before + 50
    assert git(root, "status", "--porcelain") == ""
    checked = cli("--as", "dana", "check")
    assert checked.code == 0, checked.out + checked.err
    assert len(ok(cli, "--as", "dana", "lead", "list", "--pool")) == 50


def test_a_payment_webhook_is_recorded_once_and_announced_once(
    root: Path, serve: Callable[..., Running], cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", "Acme Trading Ltd")["id"]
    contract = ok(
        cli, "--as", "alice", "contract", "add", customer, "--title", "ERP rollout",
        "--amount", "120000", "--signed", "2026-11-18",
    )["id"]  # fmt: skip
    ok(cli, "--as", "alice", "contract", "edit", contract, "--set", "custom.order_ref=ORD-1001")
    with Receiver() as receiver:
        monkeypatch.setenv("HOOK_PORT", str(receiver.port))
        run = serve(root)
        before = commits(root)
        payment = {
            "order_ref": "ORD-1001",
            "amount": 30000.00,
            "paid_at": "2026-11-19T15:30:00+08:00",
            "transaction_id": "ch_3NxA1",
            "currency": "CNY",
        }
        status, first = request(run.url + "/payments", payment, delivery="pay-1")
        assert status == 201, first
        assert (first["contract"], first["received"], first["outstanding"]) == (
            contract,
            "30000",
            "90000",
        )
        status, again = request(run.url + "/payments", payment, delivery="pay-2")  # new id
        assert (status, again["id"], again["duplicate"]) == (200, first["id"], True)
        status, repeated = request(run.url + "/payments", payment, delivery="pay-1")
        assert (status, repeated["id"], repeated["repeated"]) == (200, first["id"], True)
        [message] = receiver.wait_for(1)
        time.sleep(0.3)
        assert len(receiver.messages) == 1
    assert commits(root) == before + 1
    assert message["body"]["event"] == "payment.received"
    assert message["body"]["data"]["amount"] == "30000"
    assert message["body"]["data"]["contract"] == contract
    shown = ok(cli, "--as", "fay", "contract", "show", contract)
    assert shown["received"] == 30000
    [paid] = (root / "teams" / "east" / "alice" / "contracts" / contract / "payments").iterdir()
    data = yaml.safe_load(paid.read_text("utf-8"))
    assert (data["ref"], data["author"], str(data["date"])) == ("ch_3NxA1", "intake", "2026-11-19")

    status, bad = request(
        run.url + "/payments", {"contract": contract, "amount": -5, "currency": "USD"}
    )
    assert status == 400
    assert set(bad["fields"]) == {"amount", "currency", "transaction_id", "paid_at"}
    unknown = dict(payment, order_ref="ORD-404", transaction_id="ch_other")
    assert request(run.url + "/payments", unknown)[0] == 404
    too_much = dict(payment, amount="100000", transaction_id="ch_big")
    status, refused = request(run.url + "/payments", too_much)
    assert status == 400 and "would bring received to 130000 of 120000" in refused["error"]
    assert commits(root) == before + 1


def test_push_sends_the_commits_to_the_remote_after_rebasing_on_others(
    root: Path, serve: Callable[..., Running], tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "-u", "origin", "main")
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(remote), str(other)], check=True)
    (other / "README.txt").write_text("someone else's commit\n")
    git(other, "add", "README.txt")
    git(
        other, "-c", "user.name=Dana Wu", "-c", "user.email=dana@acme.example", "commit", "-qm", "x"
    )
    git(other, "push", "-q")

    run = serve(root, push=True)
    status, answer = request(run.url + "/leads", {"company": "Pushed Co"}, delivery="p-1")
    assert status == 201

    def remote_has_lead() -> bool:
        files = git(remote, "ls-tree", "-r", "--name-only", "main")
        return f"pool/leads/{answer['id']}/lead.yaml" in files and "README.txt" in files

    assert wait_until(remote_has_lead)
    assert git(root, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")


def test_the_plain_retry_loop_pushes_on_top_of_the_remote(root: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "-u", "origin", "main")
    other = tmp_path / "other"
    subprocess.run(["git", "clone", "-q", str(remote), str(other)], check=True)
    for clone, name in ((other, "theirs.txt"), (root, "ours.txt")):
        (clone / name).write_text(name)
        git(clone, "add", name)
        git(clone, "-c", "user.name=D", "-c", "user.email=d@x.example", "commit", "-qm", name)
    git(other, "push", "-q")
    store = Store(root)
    pull_rebase_push(store, store.identify("intake"))
    files = git(remote, "ls-tree", "-r", "--name-only", "main").split()
    assert {"theirs.txt", "ours.txt"} <= set(files)


def test_serve_refuses_to_start_without_a_real_secret_or_a_suitable_member(
    root: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SALESCTL_WEBHOOK_SECRET", raising=False)
    missing = cli("--as", "intake", "serve", "--port", str(closed_port()))
    assert missing.code == 2 and "SALESCTL_WEBHOOK_SECRET is not set" in missing.err
    monkeypatch.setenv("SALESCTL_WEBHOOK_SECRET", "short")
    assert cli("--as", "intake", "serve", "--port", str(closed_port())).code == 2
    monkeypatch.setenv("SALESCTL_WEBHOOK_SECRET", SECRET)
    refused = cli("--as", "sam", "serve", "--port", str(closed_port()))
    assert refused.code == 3 and "lead.add" in refused.err


def test_the_serve_command_serves_until_stopped(
    root: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = closed_port()
    env = dict(os.environ, SALESCTL_WEBHOOK_SECRET=SECRET, no_proxy="127.0.0.1,localhost")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    process = subprocess.Popen(
        [sys.executable, "-m", "salesctl", "--as", "intake", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until(lambda: healthy(url) or process.poll() is not None)
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        status, answer = request(url + "/leads", {"company": "Via CLI"}, delivery="cli-1")
        assert status == 201, answer
        monkeypatch.setenv("SALESCTL_WEBHOOK_SECRET", SECRET)
        second = cli("--as", "intake", "serve", "--port", str(closed_port()))  # one per clone
        assert second.code == 1 and "another salesctl serve" in second.err
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output
    assert f"lead {answer['id']} created" in output and "stopped" in output
