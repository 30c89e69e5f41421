"""The payment platforms' webhooks under abuse: tampered bodies, wrong keys and secrets,
forged or replayed Stripe timestamps, malformed signature headers, odd forms, events that
verify but do not make sense, key files that are not keys. Each is refused with its status
(401 for anything not signed by the platform), writes nothing, and never answers 500."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import test_payment_platforms as kit
from conftest import git
from cryptography.hazmat.primitives import serialization

from salesctl.errors import UsageError
from salesctl.ops.integrations.platform_signatures import Platforms
from salesctl.serve import IntakeServer
from salesctl.store.store import Store


@pytest.fixture
def keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> kit.Keys:
    return kit.install_keys(tmp_path, monkeypatch)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return kit.store_with(tmp_path, monkeypatch)


@pytest.fixture
def url(root: Path, keys: kit.Keys, cli: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The server's URL, with a contract for ORD-1001 in the store."""
    kit.contract_with_order_ref(cli, "ORD-1001")
    with kit.serving(monkeypatch) as start:
        yield start(root)


def stripe_raw(url: str, body: bytes, header: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["Stripe-Signature"] = header
    return kit.post(url + "/payments/stripe", body, headers)


def pingxx_raw(url: str, body: bytes, signature: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Pingplusplus-Signature"] = signature
    return kit.post(url + "/payments/pingxx", body, headers)


def unchanged(root: Path) -> Callable[[], bool]:
    head = git(root, "rev-parse", "HEAD")
    return lambda: git(root, "rev-parse", "HEAD") == head


def test_tampered_bodies_are_401_on_every_platform(root: Path, url: str, keys: kit.Keys) -> None:
    same = unchanged(root)
    body = json.dumps(kit.stripe_checkout_completed("ORD-1001", 100)).encode()
    header = kit.stripe_header(keys.stripe_secret, body)
    assert (
        stripe_raw(url, body.replace(b'"amount_total": 100', b'"amount_total": 9'), header)[0]
        == 401
    )
    params = kit.alipay_notification(keys.alipay, "ORD-1001", "1.00")
    assert kit.to_alipay(url, {**params, "total_amount": "100.00"}) == (401, "fail")
    assert kit.to_alipay(url, {**params, "passback_params": "x"}) == (401, "fail")  # added
    ping = json.dumps(kit.pingxx_charge_succeeded("ORD-1001", 100)).encode()
    signature = kit.pingxx_signature(keys.pingxx, ping)
    assert pingxx_raw(url, ping.replace(b'"amount": 100', b'"amount": 900'), signature)[0] == 401
    assert same()


def test_wrong_keys_and_secrets_are_401(root: Path, url: str) -> None:
    same = unchanged(root)
    other_alipay, other_pingxx = kit.new_key(), kit.new_key()
    event = kit.stripe_checkout_completed("ORD-1001", 100)
    assert kit.to_stripe(url, "whsec_not-the-endpoint-secret", event)[0] == 401
    assert kit.to_alipay(url, kit.alipay_notification(other_alipay, "ORD-1001", "1.00")) == (
        401,
        "fail",
    )
    assert kit.to_pingxx(url, other_pingxx, kit.pingxx_charge_succeeded("ORD-1001", 100))[0] == 401
    assert same()


def test_stripe_signature_headers_that_do_not_hold(root: Path, url: str, keys: kit.Keys) -> None:
    same = unchanged(root)
    body = json.dumps(kit.stripe_checkout_completed("ORD-1001", 100)).encode()
    good = kit.stripe_header(keys.stripe_secret, body)
    t, v1 = good.split(",")
    moved = f"t={int(t[2:]) + 1},{v1}"  # a fresh timestamp on an old signature
    later = kit.stripe_header(keys.stripe_secret, body, kit.now() + 3600)  # not signed now
    for header in (None, "", t, v1, f"{t},v0={v1[3:]}", f"t=abc,{v1}", f"{t},v1=zz", moved):
        status, _ = stripe_raw(url, body, header)
        assert status == 401, header
    assert stripe_raw(url, body, later)[0] == 201  # Stripe checks only the age, as its SDKs
    assert not same()


def test_a_rolled_stripe_secret_accepts_any_of_several_v1(
    root: Path, url: str, keys: kit.Keys
) -> None:
    body = json.dumps(kit.stripe_checkout_completed("ORD-1001", 100)).encode()
    header = kit.stripe_header(keys.stripe_secret, body, None, "v1=" + "ab" * 32)
    assert stripe_raw(url, body, header)[0] == 201


def test_a_captured_stripe_event_replayed_later_is_401(
    root: Path, url: str, keys: kit.Keys
) -> None:
    same = unchanged(root)
    body = json.dumps(kit.stripe_checkout_completed("ORD-1001", 100)).encode()
    header = kit.stripe_header(keys.stripe_secret, body, kit.now() - 3600)
    assert stripe_raw(url, body, header)[0] == 401
    assert same()


def test_alipay_forms_that_are_not_alipay_s(root: Path, url: str, keys: kit.Keys) -> None:
    same = unchanged(root)
    params = kit.alipay_notification(keys.alipay, "ORD-1001", "1.00")
    assert kit.to_alipay(url, {**params, "sign_type": "RSA"}) == (401, "fail")  # SHA1
    assert kit.to_alipay(url, {k: v for k, v in params.items() if k != "sign"}) == (401, "fail")
    assert kit.to_alipay(url, {**params, "sign": "not base64!"}) == (401, "fail")
    twice = kit.form(params) + b"&total_amount=999.00"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    assert kit.post(url + "/payments/alipay", twice, headers) == (400, "fail")
    raw = kit.form(params) + "&subject=企业".encode()
    assert kit.post(url + "/payments/alipay", raw, headers) == (400, "fail")
    json_body = json.dumps(params).encode()
    assert kit.post(url + "/payments/alipay", json_body, {"Content-Type": "application/json"}) == (
        415,
        "fail",
    )
    assert kit.to_alipay(url, {**params, "charset": "utf-16"}) == (400, "fail")
    assert same()


def test_pingxx_signatures_that_are_not_there(root: Path, url: str, keys: kit.Keys) -> None:
    same = unchanged(root)
    body = json.dumps(kit.pingxx_charge_succeeded("ORD-1001", 100)).encode()
    other = kit.pingxx_signature(keys.pingxx, body + b" ")
    for signature in (None, "", "%%%", base64.b64encode(b"short").decode(), other):
        assert pingxx_raw(url, body, signature)[0] == 401, signature
    assert same()


def test_a_pingxx_charge_sent_as_a_new_event_is_the_same_payment(
    root: Path, url: str, keys: kit.Keys
) -> None:
    first = kit.pingxx_charge_succeeded("ORD-1001", 100)
    status, answer = kit.to_pingxx(url, keys.pingxx, first)
    assert status == 201
    after = git(root, "rev-parse", "HEAD")
    again = kit.pingxx_charge_succeeded("ORD-1001", 100, event_id="evt_other_delivery")
    status, second = kit.to_pingxx(url, keys.pingxx, again)
    assert (status, second["id"], second["duplicate"]) == (200, answer["id"], True)
    assert git(root, "rev-parse", "HEAD") == after


def test_signed_events_that_make_no_sense_are_422_not_500(
    root: Path, url: str, keys: kit.Keys
) -> None:
    same = unchanged(root)
    no_ref = kit.stripe_checkout_completed(None, 100)
    status, answer = kit.to_stripe(url, keys.stripe_secret, no_ref)
    assert status == 422 and "order reference" in answer["error"]
    odd = kit.stripe_checkout_completed("ORD-1001", 100, event_id="evt_odd")
    odd["data"]["object"]["amount_total"] = "100"
    odd["data"]["object"]["currency"] = None
    status, answer = kit.to_stripe(url, keys.stripe_secret, odd)
    assert status == 422
    assert set(answer["fields"]) == {"data.object.amount_total", "data.object.currency"}
    for broken in ([], {"id": "evt_x"}, {"id": "evt_y", "type": "payment_intent.succeeded"}):
        assert kit.to_stripe(url, keys.stripe_secret, broken)[0] == 422, broken
    negative = kit.pingxx_charge_succeeded("ORD-1001", -100)
    assert kit.to_pingxx(url, keys.pingxx, negative)[0] == 422
    fraction = kit.alipay_notification(keys.alipay, "ORD-1001", "1.005")
    assert kit.to_alipay(url, fraction) == (422, "fail")
    fullwidth = kit.alipay_notification(keys.alipay, "ORD-1001", "１.00")
    assert kit.to_alipay(url, fullwidth) == (422, "fail")
    control = kit.alipay_notification(keys.alipay, "ORD-1001\r\x1b[2J", "1.00")
    assert kit.to_alipay(url, control) == (422, "fail")
    too_much = kit.pingxx_charge_succeeded("ORD-1001", 13_000_000_00, event_id="evt_big")
    status, answer = kit.to_pingxx(url, keys.pingxx, too_much)  # more than the contract
    assert status == 422 and "120000" in answer["error"]
    body = json.dumps(kit.stripe_checkout_completed("ORD-1001", 100)).encode()[:-1]  # cut
    assert stripe_raw(url, body, kit.stripe_header(keys.stripe_secret, body))[0] == 400
    assert same()


def test_bodies_over_the_limit_are_413_on_every_platform(
    root: Path, url: str, keys: kit.Keys
) -> None:
    same = unchanged(root)
    big = b"{" + b" " * (64 * 1024) + b"}"
    assert stripe_raw(url, big, kit.stripe_header(keys.stripe_secret, big))[0] == 413
    assert pingxx_raw(url, big, kit.pingxx_signature(keys.pingxx, big))[0] == 413
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert kit.post(url + "/payments/alipay", b"a=" + b"1" * 70000, form) == (413, "fail")
    assert same()


def test_key_files_that_are_not_keys_stop_serve_at_start_up(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(root)
    bot = store.identify("intake")
    monkeypatch.setenv("SALESCTL_ALIPAY_PUBLIC_KEY", str(tmp_path / "missing.pem"))
    with pytest.raises(UsageError, match="SALESCTL_ALIPAY_PUBLIC_KEY"):
        IntakeServer(store, bot, kit.SECRET)
    (tmp_path / "junk.pem").write_text("-----BEGIN PUBLIC KEY-----\nbm9wZQ==\n")
    monkeypatch.setenv("SALESCTL_ALIPAY_PUBLIC_KEY", str(tmp_path / "junk.pem"))
    with pytest.raises(UsageError, match="not an RSA public key"):
        IntakeServer(store, bot, kit.SECRET)
    monkeypatch.delenv("SALESCTL_ALIPAY_PUBLIC_KEY")
    monkeypatch.setenv("SALESCTL_STRIPE_SECRET", "whsec_x")
    monkeypatch.setenv("SALESCTL_STRIPE_TOLERANCE", "-5")
    with pytest.raises(UsageError, match="SALESCTL_STRIPE_TOLERANCE"):
        IntakeServer(store, bot, kit.SECRET)


def test_alipay_s_bare_base64_key_is_taken_as_the_console_shows_it(tmp_path: Path) -> None:
    key = kit.new_key().public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "alipay.txt").write_bytes(base64.b64encode(der) + b"\n")
    loaded = Platforms.from_environment(
        {"SALESCTL_ALIPAY_PUBLIC_KEY": str(tmp_path / "alipay.txt")}
    )
    assert loaded.alipay_key is not None
    assert loaded.alipay_key.public_numbers() == key.public_numbers()
    assert loaded.enabled() == {"stripe": False, "alipay": True, "pingxx": False}
