"""Payment platforms' own webhooks through the real server (uvicorn on a loopback port):
Stripe (``Stripe-Signature`` HMAC), Alipay (RSA2 form notification) and Ping++ (RSA-SHA256
over the body), with keys generated here and payloads shaped like each platform's
documented examples. Each payment is one commit in the contract's directory, announced
once, idempotent on the platform's event and transaction ids."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import pytest
import yaml
from chat_receiver import Receiver, closed_port
from conftest import git, make_store
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

# the intake server's store (members, the intake role, order_ref, a payment hook) and its wait
from test_serve import NO_PROXY, SECRET, SERVE_CONFIG, healthy, wait_until

from salesctl import clock
from salesctl.ops.integrations.platforms import minor_to_amount
from salesctl.serve import IntakeServer
from salesctl.store.store import Store

# -- the platforms' side: keys, signatures, payloads --------------------------------------------


@dataclass
class Keys:
    stripe_secret: str
    alipay: rsa.RSAPrivateKey
    pingxx: rsa.RSAPrivateKey


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_public_pem(key: rsa.RSAPrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Keys:
    return install_keys(tmp_path, monkeypatch)


def install_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Keys:
    """Fresh platform keys, the public halves in PEM files named by the environment."""
    made = Keys("whsec_" + secrets.token_hex(24), new_key(), new_key())
    monkeypatch.setenv("SALESCTL_STRIPE_SECRET", made.stripe_secret)
    monkeypatch.setenv(
        "SALESCTL_ALIPAY_PUBLIC_KEY", str(write_public_pem(made.alipay, tmp_path / "ali.pem"))
    )
    monkeypatch.setenv(
        "SALESCTL_PINGXX_PUBLIC_KEY", str(write_public_pem(made.pingxx, tmp_path / "ping.pem"))
    )
    return made


def now() -> int:
    return int(clock.now().timestamp())


def stripe_header(secret: str, body: bytes, at: int | None = None, *extra: str) -> str:
    """``t=...,v1=...`` as Stripe computes it: HMAC-SHA256 of ``t.body``."""
    at = now() if at is None else at
    mac = hmac.HMAC(secret.encode(), hashes.SHA256())
    mac.update(f"{at}.".encode() + body)
    return ",".join([f"t={at}", *extra, f"v1={mac.finalize().hex()}"])


def stripe_checkout_completed(
    order_ref: str | None,
    amount_total: int,
    *,
    currency: str = "cny",
    event_id: str = "evt_1PVwcnR8QWoDuPnP0eRk39Wn",
    intent: str = "pi_3PVwcmR8QWoDuPnP1ZyQ4bA9",
    payment_status: str = "paid",
) -> dict[str, Any]:
    """A ``checkout.session.completed`` event as Stripe documents it (trimmed of nulls)."""
    created = now() - 60
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-04-10",
        "created": created,
        "data": {
            "object": {
                "id": "cs_test_a1uS9U7mL0zDhvwzkx6k7YhmITcD9dQUVp1gkQsMSE4hITV5tzQ7aR4Z9L",
                "object": "checkout.session",
                "amount_subtotal": amount_total,
                "amount_total": amount_total,
                "automatic_tax": {"enabled": False, "liability": None, "status": None},
                "cancel_url": "https://example.com/cancel",
                "client_reference_id": None,
                "created": created - 20,
                "currency": currency,
                "customer": None,
                "customer_details": {
                    "address": {"country": "CN"},
                    "email": "buyer@acme.example",
                    "name": "Wei Zhang",
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
                "expires_at": created + 86400,
                "livemode": False,
                "metadata": {"order_ref": order_ref} if order_ref else {},
                "mode": "payment",
                "payment_intent": intent,
                "payment_method_types": ["card"],
                "payment_status": payment_status,
                "status": "complete",
                "success_url": "https://example.com/success",
                "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
                "url": None,
            }
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
    }


def stripe_intent_succeeded(
    order_ref: str, amount: int, *, intent: str, event_id: str = "evt_3PVwcmR8QWoDuPnP1kq7"
) -> dict[str, Any]:
    """A ``payment_intent.succeeded`` event as Stripe documents it (trimmed)."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-04-10",
        "created": now() - 30,
        "data": {
            "object": {
                "id": intent,
                "object": "payment_intent",
                "amount": amount,
                "amount_capturable": 0,
                "amount_received": amount,
                "capture_method": "automatic",
                "client_secret": "pi_3PVwcm_secret_x",
                "confirmation_method": "automatic",
                "created": now() - 90,
                "currency": "cny",
                "latest_charge": "ch_3PVwcmR8QWoDuPnP1Q2d",
                "livemode": False,
                "metadata": {"order_ref": order_ref},
                "payment_method": "pm_1PVwd8R8QWoDuPnP",
                "payment_method_types": ["card"],
                "status": "succeeded",
            }
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_9x1", "idempotency_key": "5c1b7d2e"},
        "type": "payment_intent.succeeded",
    }


def alipay_notification(
    key: rsa.RSAPrivateKey,
    out_trade_no: str,
    total_amount: str,
    *,
    notify_id: str = "2024112000222100002054981442512345",
    trade_no: str = "2024112022001404981435671234",
    trade_status: str = "TRADE_SUCCESS",
    charset: str = "utf-8",
    subject: str = "ERP rollout deposit",
) -> dict[str, str]:
    """An asynchronous notification with the parameters Alipay documents, signed RSA2:
    SHA256withRSA over the sorted ``k=v&...`` of all but ``sign`` and ``sign_type``."""
    params = {
        "gmt_create": "2026-11-20 09:12:31",
        "charset": charset,
        "gmt_payment": "2026-11-20 09:12:40",
        "notify_time": "2026-11-20 09:12:41",
        "subject": subject,
        "buyer_id": "2088102177846880",
        "invoice_amount": total_amount,
        "version": "1.0",
        "notify_id": notify_id,
        "fund_bill_list": '[{"amount":"' + total_amount + '","fundChannel":"ALIPAYACCOUNT"}]',
        "notify_type": "trade_status_sync",
        "out_trade_no": out_trade_no,
        "total_amount": total_amount,
        "trade_status": trade_status,
        "trade_no": trade_no,
        "auth_app_id": "2014072300007148",
        "receipt_amount": total_amount,
        "point_amount": "0.00",
        "app_id": "2014072300007148",
        "buyer_pay_amount": total_amount,
        "seller_id": "2088102176494233",
    }
    return alipay_sign(key, params)


def alipay_sign(key: rsa.RSAPrivateKey, params: dict[str, str]) -> dict[str, str]:
    unsigned = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
    content = "&".join(f"{k}={v}" for k, v in sorted(unsigned.items()))
    charset = params.get("charset", "utf-8")
    signature = key.sign(content.encode(charset), padding.PKCS1v15(), hashes.SHA256())
    return {**unsigned, "sign": base64.b64encode(signature).decode(), "sign_type": "RSA2"}


def form(params: dict[str, str]) -> bytes:
    return urllib.parse.urlencode(params, encoding=params.get("charset", "utf-8")).encode()


def pingxx_charge_succeeded(
    order_no: str,
    amount: int,
    *,
    event_id: str = "evt_401161120101103200001001",
    charge: str = "ch_Xsr7u35O3m1Gw4ed2ODmi4Lw",
    kind: str = "charge.succeeded",
) -> dict[str, Any]:
    """A ``charge.succeeded`` event as Ping++ documents it, the charge in ``data.object``."""
    paid = now() - 120
    return {
        "id": event_id,
        "created": paid + 2,
        "livemode": True,
        "type": kind,
        "data": {
            "object": {
                "id": charge,
                "object": "charge",
                "created": paid - 60,
                "livemode": True,
                "paid": True,
                "refunded": False,
                "app": "app_1Gqj58ynP0mHeX1q",
                "channel": "alipay",
                "order_no": order_no,
                "client_ip": "127.0.0.1",
                "amount": amount,
                "amount_settle": amount,
                "currency": "cny",
                "subject": "ERP rollout",
                "body": "Second instalment",
                "extra": {},
                "time_paid": paid,
                "time_expire": paid + 86400,
                "time_settle": None,
                "transaction_no": "2016061021001004680224385185",
                "refunds": {
                    "object": "list",
                    "url": f"/v1/charges/{charge}/refunds",
                    "has_more": False,
                    "data": [],
                },
                "amount_refunded": 0,
                "failure_code": None,
                "failure_msg": None,
                "metadata": {},
                "credential": {},
                "description": None,
            }
        },
        "object": "event",
        "pending_webhooks": 0,
        "request": "iar_qH4y1KbTy5eLGm1uHSTS00s",
    }


def pingxx_signature(key: rsa.RSAPrivateKey, body: bytes) -> str:
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


# -- the server and the store ------------------------------------------------------------------


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """(status, the JSON answer or the text) of a POST."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with NO_PROXY.open(req, timeout=60) as response:
            status, text = response.status, response.read()
    except HTTPError as exc:
        status, text = exc.code, exc.read()
    return status, json.loads(text) if text.startswith(b"{") else text.decode()


def to_stripe(url: str, secret: str, event: dict[str, Any], **kw: Any) -> tuple[int, Any]:
    body = json.dumps(event).encode()
    return post(
        url + "/payments/stripe",
        body,
        {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": stripe_header(secret, body, **kw),
        },
    )


def to_alipay(url: str, params: dict[str, str]) -> tuple[int, Any]:
    charset = params.get("charset", "utf-8")
    return post(
        url + "/payments/alipay",
        form(params),
        {"Content-Type": f"application/x-www-form-urlencoded; charset={charset}"},
    )


def to_pingxx(url: str, key: rsa.RSAPrivateKey, event: dict[str, Any]) -> tuple[int, Any]:
    body = json.dumps(event).encode()
    return post(
        url + "/payments/pingxx",
        body,
        {
            "Content-Type": "application/json",
            "X-Pingplusplus-Signature": pingxx_signature(key, body),
        },
    )


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], str]]:
    with serving(monkeypatch) as start:
        yield start


@contextlib.contextmanager
def serving(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], str]]:
    """start(root) -> the URL of the intake server, as the bot, on a free loopback port;
    the platforms are those the environment enables at that moment."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("HOOK_PORT", os.environ.get("HOOK_PORT") or str(closed_port()))
    running: list[tuple[IntakeServer, threading.Thread]] = []

    def start(root: Path) -> str:
        store = Store(root)
        server = IntakeServer(store, store.identify("intake"), SECRET, log_level="warning")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        running.append((server, thread))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        assert wait_until(lambda: healthy(url)), "the server did not come up"
        return url

    try:
        yield start
    finally:
        for server, thread in running:
            server.stop()
            thread.join(timeout=20)


def store_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, currency: str = "CNY") -> Path:
    config = SERVE_CONFIG.replace("currency: CNY", f"currency: {currency}")
    path = make_store(tmp_path / "store", config)
    monkeypatch.setenv("SALESCTL_STORE", str(path))
    return path


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return store_with(tmp_path, monkeypatch)


def ok(cli: Any, *args: str) -> Any:
    result = cli(*args, "-f", "json")
    assert result.code == 0, result.err
    return result.json()


def contract_with_order_ref(cli: Any, order_ref: str, amount: str = "120000") -> str:
    """A signed contract of alice's (team east) whose custom.order_ref is ``order_ref``."""
    customer = ok(cli, "--as", "alice", "customer", "add", "--name", f"Buyer of {order_ref}")["id"]
    contract = ok(
        cli, "--as", "alice", "contract", "add", customer, "--title", "ERP rollout",
        "--amount", amount, "--signed", "-2d",
    )["id"]  # fmt: skip
    ok(cli, "--as", "alice", "contract", "edit", contract, "--set", f"custom.order_ref={order_ref}")
    return str(contract)


def payments_of(root: Path, contract: str) -> list[dict[str, Any]]:
    folder = root / "teams" / "east" / "alice" / "contracts" / contract / "payments"
    if not folder.exists():
        return []
    return [yaml.safe_load(p.read_text("utf-8")) for p in sorted(folder.iterdir())]


def exact(value: Any) -> Decimal:
    return Decimal(str(value))


# -- the happy paths ---------------------------------------------------------------------------


def test_a_stripe_checkout_is_recorded_once_and_announced_once(
    root: Path, serve: Callable[[Path], str], cli: Any, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract = contract_with_order_ref(cli, "ORD-1001")
    with Receiver() as receiver:
        monkeypatch.setenv("HOOK_PORT", str(receiver.port))
        url = serve(root)
        before = commits(root)
        event = stripe_checkout_completed("ORD-1001", 3000050)  # 30,000.50 yuan, in fen
        status, first = to_stripe(url, keys.stripe_secret, event)
        assert status == 201, first
        assert (first["contract"], first["received"], first["outstanding"]) == (
            contract,
            "30000.50",
            "89999.50",
        )
        # Stripe sends the event again (a retry): the first answer, nothing written
        status, again = to_stripe(url, keys.stripe_secret, event)
        assert (status, again["id"], again["repeated"]) == (200, first["id"], True)
        # the PaymentIntent's own event is the same payment (its id is the ref)
        intent = event["data"]["object"]["payment_intent"]
        status, same = to_stripe(
            url, keys.stripe_secret, stripe_intent_succeeded("ORD-1001", 3000050, intent=intent)
        )
        assert (status, same["id"], same["duplicate"]) == (200, first["id"], True)
        [message] = receiver.wait_for(1)
        time.sleep(0.3)
        assert len(receiver.messages) == 1
    assert commits(root) == before + 1
    assert git(root, "log", "-1", "--format=%an").strip() == "Intake Bot"
    [paid] = payments_of(root, contract)
    assert (paid["ref"], exact(paid["amount"]), str(paid["date"])) == (
        intent,
        Decimal("30000.50"),
        clock.today().isoformat(),
    )
    assert message["body"]["event"] == "payment.received"
    assert message["body"]["data"]["contract"] == contract
    assert exact(message["body"]["data"]["amount"]) == Decimal("30000.50")
    assert git(root, "status", "--porcelain") == ""


def test_a_stripe_payment_intent_alone_is_recorded(
    root: Path, serve: Callable[[Path], str], cli: Any, keys: Keys
) -> None:
    contract = contract_with_order_ref(cli, "ORD-2002")
    url = serve(root)
    event = stripe_intent_succeeded("ORD-2002", 1999, intent="pi_3QaaaaR8QWoDuPnP0x")
    status, answer = to_stripe(url, keys.stripe_secret, event)
    assert status == 201, answer
    [paid] = payments_of(root, contract)
    assert (paid["ref"], exact(paid["amount"])) == ("pi_3QaaaaR8QWoDuPnP0x", Decimal("19.99"))


def test_an_alipay_notification_answers_success_and_is_recorded_once(
    root: Path, serve: Callable[[Path], str], cli: Any, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract = contract_with_order_ref(cli, "20261120-0042")
    with Receiver() as receiver:
        monkeypatch.setenv("HOOK_PORT", str(receiver.port))
        url = serve(root)
        before = commits(root)
        notification = alipay_notification(keys.alipay, "20261120-0042", "88.88")
        assert to_alipay(url, notification) == (200, "success")
        assert to_alipay(url, notification) == (200, "success")  # Alipay's retry
        # TRADE_FINISHED later (the refund period is over): the same trade, not a payment
        finished = alipay_notification(
            keys.alipay,
            "20261120-0042",
            "88.88",
            trade_status="TRADE_FINISHED",
            notify_id="2024112300222100002054981449999999",
        )
        assert to_alipay(url, finished) == (200, "success")
        assert len(receiver.wait_for(1)) == 1
        time.sleep(0.3)
        assert len(receiver.messages) == 1
    assert commits(root) == before + 1
    [paid] = payments_of(root, contract)
    assert (paid["ref"], exact(paid["amount"]), str(paid["date"])) == (
        "2024112022001404981435671234",
        Decimal("88.88"),
        "2026-11-20",  # gmt_payment, Beijing time, in the org's zone (the frozen clock's day)
    )


def test_an_alipay_notification_in_gbk_is_verified_in_gbk(
    root: Path, serve: Callable[[Path], str], cli: Any, keys: Keys
) -> None:
    contract = contract_with_order_ref(cli, "GBK-7")
    url = serve(root)
    notification = alipay_notification(
        keys.alipay, "GBK-7", "1200.00", charset="gbk", subject="企业版首付款"
    )
    assert to_alipay(url, notification) == (200, "success")
    assert exact(payments_of(root, contract)[0]["amount"]) == Decimal("1200")


def test_a_pingxx_charge_is_recorded_once(
    root: Path, serve: Callable[[Path], str], cli: Any, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    contract = contract_with_order_ref(cli, "2015d019f7cf6c0d")
    with Receiver() as receiver:
        monkeypatch.setenv("HOOK_PORT", str(receiver.port))
        url = serve(root)
        before = commits(root)
        event = pingxx_charge_succeeded("2015d019f7cf6c0d", 1234567)  # fen
        status, first = to_pingxx(url, keys.pingxx, event)
        assert status == 201, first
        assert (first["contract"], first["received"]) == (contract, "12345.67")
        status, again = to_pingxx(url, keys.pingxx, event)
        assert (status, again["id"], again["repeated"]) == (200, first["id"], True)
        [message] = receiver.wait_for(1)
        time.sleep(0.3)
        assert len(receiver.messages) == 1
    assert commits(root) == before + 1
    [paid] = payments_of(root, contract)
    assert (paid["ref"], exact(paid["amount"])) == (
        "ch_Xsr7u35O3m1Gw4ed2ODmi4Lw",
        Decimal("12345.67"),
    )
    assert exact(message["body"]["data"]["amount"]) == Decimal("12345.67")


# -- what is refused or ignored ----------------------------------------------------------------


def test_a_platform_without_its_secret_is_404_and_serve_says_which_are_on(
    root: Path,
    serve: Callable[[Path], str],
    cli: Any,
    keys: Keys,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    contract_with_order_ref(cli, "ORD-1001")
    monkeypatch.delenv("SALESCTL_STRIPE_SECRET")
    monkeypatch.delenv("SALESCTL_PINGXX_PUBLIC_KEY")
    caplog.set_level(logging.INFO, logger="salesctl.serve")
    url = serve(root)
    before = commits(root)
    assert to_stripe(url, keys.stripe_secret, stripe_checkout_completed("ORD-1001", 100))[0] == 404
    assert to_pingxx(url, keys.pingxx, pingxx_charge_succeeded("ORD-1001", 100))[0] == 404
    started = [r.getMessage() for r in caplog.records if "payment platforms" in r.getMessage()]
    assert len(started) == 1
    assert "stripe off" in started[0] and "alipay on" in started[0] and "pingxx off" in started[0]
    assert commits(root) == before


def test_events_salesctl_does_not_take_are_202_and_write_nothing(
    root: Path, serve: Callable[[Path], str], cli: Any, keys: Keys
) -> None:
    contract = contract_with_order_ref(cli, "ORD-1001")
    url = serve(root)
    before = commits(root)
    other = dict(stripe_checkout_completed("ORD-1001", 100), type="customer.created")
    status, answer = to_stripe(url, keys.stripe_secret, other)
    assert (status, answer["ignored"]) == (202, "customer.created")
    unpaid = stripe_checkout_completed("ORD-1001", 100, payment_status="unpaid")
    assert to_stripe(url, keys.stripe_secret, unpaid)[0] == 202
    refund = pingxx_charge_succeeded("ORD-1001", 100, kind="refund.succeeded")
    assert to_pingxx(url, keys.pingxx, refund)[0] == 202
    waiting = alipay_notification(keys.alipay, "ORD-1001", "1.00", trade_status="WAIT_BUYER_PAY")
    assert to_alipay(url, waiting) == (200, "success")  # Alipay: acknowledged, ignored
    assert commits(root) == before
    assert payments_of(root, contract) == []


def test_a_stale_stripe_timestamp_is_401(
    root: Path, serve: Callable[[Path], str], cli: Any, keys: Keys
) -> None:
    contract_with_order_ref(cli, "ORD-1001")
    url = serve(root)
    before = commits(root)
    event = stripe_checkout_completed("ORD-1001", 100)
    status, answer = to_stripe(url, keys.stripe_secret, event, at=now() - 301)
    assert status == 401, answer
    assert commits(root) == before
    assert to_stripe(url, keys.stripe_secret, event, at=now() - 299)[0] == 201


def test_a_zero_decimal_currency_is_not_divided_by_100(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    serve: Callable[[Path], str],
    cli: Any,
    keys: Keys,
) -> None:
    root = store_with(tmp_path, monkeypatch, currency="JPY")
    contract = contract_with_order_ref(cli, "JP-500", amount="1500000")
    url = serve(root)
    event = stripe_checkout_completed("JP-500", 150000, currency="jpy")
    status, answer = to_stripe(url, keys.stripe_secret, event)
    assert (status, answer["received"]) == (201, "150000")
    assert exact(payments_of(root, contract)[0]["amount"]) == Decimal("150000")
    # a currency other than the org's is refused, naming both
    usd = stripe_checkout_completed("JP-500", 1000, currency="usd", event_id="evt_usd1")
    status, refused = to_stripe(url, keys.stripe_secret, usd)
    assert status == 422 and "USD" in refused["fields"]["currency"]
    assert "JPY" in refused["fields"]["currency"]
    assert len(payments_of(root, contract)) == 1


@pytest.mark.parametrize(
    ("minor", "currency", "amount"),
    [
        (12345, "usd", "123.45"),
        (1, "cny", "0.01"),
        (500, "JPY", "500"),
        (990, "krw", "990"),
        (1500, "kwd", "1.500"),
        (100, "isk", "1.00"),  # two-decimal in Stripe's API, though whole krónur
    ],
)
def test_amounts_in_the_smallest_unit_convert_exactly(
    minor: int, currency: str, amount: str
) -> None:
    converted = minor_to_amount(minor, currency)
    assert converted == Decimal(amount) and str(converted) == amount


def test_an_unknown_order_reference_is_422_naming_it_and_a_retry_after_the_fix_lands(
    root: Path, serve: Callable[[Path], str], cli: Any, keys: Keys
) -> None:
    contract = contract_with_order_ref(cli, "ORD-1001")
    url = serve(root)
    before = commits(root)
    event = stripe_checkout_completed("ORD-404", 100)
    status, answer = to_stripe(url, keys.stripe_secret, event)
    assert status == 422 and "ORD-404" in answer["error"]
    ping = pingxx_charge_succeeded("ORD-405", 100)
    status, answer = to_pingxx(url, keys.pingxx, ping)
    assert status == 422 and "ORD-405" in answer["error"]
    assert to_alipay(url, alipay_notification(keys.alipay, "ORD-406", "1.00")) == (422, "fail")
    assert commits(root) == before
    # the refusal is not remembered: once the contract carries the reference, the
    # platform's retry of the same event lands
    ok(cli, "--as", "alice", "contract", "edit", contract, "--set", "custom.order_ref=ORD-404")
    assert to_stripe(url, keys.stripe_secret, event)[0] == 201
    assert commits(root) == before + 2  # the edit and the payment
