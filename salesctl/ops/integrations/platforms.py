"""Payment platforms' own webhooks: Stripe, Alipay and Ping++, without a relay.

Each platform signs its events its own way; ``verify_stripe``, ``verify_alipay`` and
``verify_pingxx`` check that with the ``cryptography`` library (never by hand) and raise
``BadSignature``. ``stripe_event``, ``alipay_event`` and ``pingxx_event`` then map a
verified event to a ``PlatformEvent``: the delivery id the intake remembers (the platform's
own event id) and, when it is a payment salesctl takes, a ``PlatformPayment`` that
``for_org`` turns into the intake's ``PaymentInput`` (the transaction id becomes the
payment's ``ref``, so one payment reported by two events is recorded once).

Secrets and keys come from the environment only (``Platforms.from_environment``); a
platform without one is not enabled.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from salesctl.errors import Invalid, UsageError
from salesctl.model.config import Config
from salesctl.model.values import coerce_amount
from salesctl.ops.integrations.deliveries import DELIVERY_RE
from salesctl.ops.integrations.intake_fields import FieldErrors, PaymentInput

STRIPE_SECRET_ENV = "SALESCTL_STRIPE_SECRET"  # noqa: S105 - the variable's name
STRIPE_TOLERANCE_ENV = "SALESCTL_STRIPE_TOLERANCE"
ALIPAY_KEY_ENV = "SALESCTL_ALIPAY_PUBLIC_KEY"
PINGXX_KEY_ENV = "SALESCTL_PINGXX_PUBLIC_KEY"
STRIPE_TOLERANCE = 300  # seconds; Stripe's libraries' default
STRIPE_EVENTS = ("checkout.session.completed", "payment_intent.succeeded")
ALIPAY_PAID = ("TRADE_SUCCESS", "TRADE_FINISHED")
PINGXX_EVENTS = ("charge.succeeded",)
ALIPAY_ZONE = ZoneInfo("Asia/Shanghai")  # Alipay's gmt_payment is Beijing time
ALIPAY_CHARSETS = ("utf-8", "gbk", "gb2312")

# Stripe's amounts are in the currency's smallest unit: these have none below the unit, or
# three decimals (docs.stripe.com/currencies); ISK, HUF and TWD stay two-decimal in its API.
ZERO_DECIMAL = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"}
    | {"PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


class BadSignature(Invalid):
    """The request is not signed by the platform (or too old): ``serve`` answers 401."""


# -- configuration -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Platforms:
    """The platforms ``serve`` takes events from: each enabled by its secret or key."""

    stripe_secret: bytes | None = None
    stripe_tolerance: int = STRIPE_TOLERANCE
    alipay_key: rsa.RSAPublicKey | None = None
    pingxx_key: rsa.RSAPublicKey | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Platforms:
        """The platforms ``$SALESCTL_STRIPE_SECRET``, ``$SALESCTL_ALIPAY_PUBLIC_KEY`` and
        ``$SALESCTL_PINGXX_PUBLIC_KEY`` (paths to PEM files) enable; ``UsageError`` for a
        key file that cannot be read, so ``serve`` stops at start-up, not at the first
        payment."""
        env = os.environ if environ is None else environ
        secret = env.get(STRIPE_SECRET_ENV, "").strip()
        tolerance = env.get(STRIPE_TOLERANCE_ENV, "").strip() or str(STRIPE_TOLERANCE)
        if not tolerance.isdigit() or int(tolerance) < 1:
            raise UsageError(
                f"${STRIPE_TOLERANCE_ENV} is {tolerance!r}, not a number of seconds",
                f"unset it for Stripe's {STRIPE_TOLERANCE} s, or give e.g. 600",
            )
        return cls(
            stripe_secret=secret.encode("utf-8") or None,
            stripe_tolerance=int(tolerance),
            alipay_key=_public_key(env, ALIPAY_KEY_ENV),
            pingxx_key=_public_key(env, PINGXX_KEY_ENV),
        )

    def enabled(self) -> dict[str, bool]:
        return {
            "stripe": self.stripe_secret is not None,
            "alipay": self.alipay_key is not None,
            "pingxx": self.pingxx_key is not None,
        }


def _public_key(env: Mapping[str, str], name: str) -> rsa.RSAPublicKey | None:
    """The RSA public key in the file ``$name`` names: PEM, or the bare base64 that
    Alipay's console shows."""
    where = env.get(name, "").strip()
    if not where:
        return None
    try:
        data = Path(where).expanduser().read_bytes()
    except OSError as exc:
        raise UsageError(
            f"${name}: cannot read {where}: {exc.strerror}", "give the path of the PEM file"
        ) from None
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_public_key(data)
        else:
            key = serialization.load_der_public_key(base64.b64decode(data, validate=False))
    except (ValueError, TypeError, binascii.Error):
        key = None
    if not isinstance(key, rsa.RSAPublicKey):
        raise UsageError(
            f"${name}: {where} is not an RSA public key",
            "save the platform's public key as a PEM file (-----BEGIN PUBLIC KEY-----)",
        )
    return key


# -- what an event says ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformPayment:
    """A payment as a platform reports it, before the org's rules apply."""

    transaction_id: str
    order_ref: str | None
    amount: Decimal  # in the currency's unit (yuan, dollars), exact
    currency: str
    paid_at: dt.datetime  # timezone-aware
    where: str  # the event's field names, for error messages: "data.object"

    def for_org(self, config: Config) -> PaymentInput:
        """The intake's payment: in the org's currency and time zone, or ``FieldErrors``."""
        from salesctl.ops.sales.followups import org_zone

        errors: dict[str, str] = {}
        if self.currency.upper() != config.currency.upper():
            errors["currency"] = (
                f"{self.currency.upper()} is not the store's currency {config.currency}: "
                "salesctl records payments in the org's currency"
            )
        amount = self.amount
        try:
            amount = coerce_amount(self.amount)
            if amount <= 0:
                errors["amount"] = "must be more than 0"
        except ValueError as exc:
            errors["amount"] = str(exc)
        if errors:
            raise FieldErrors(f"payment ({self.where})", errors)
        return PaymentInput(
            transaction_id=self.transaction_id,
            amount=amount,
            paid_on=self.paid_at.astimezone(org_zone(config)).date(),
            order_ref=self.order_ref,
        )


@dataclass(frozen=True)
class PlatformEvent:
    """A verified event: its delivery id (``stripe:evt_...``), its type, and the payment
    it reports, or ``None`` for one salesctl does not take (answered 202, nothing written)."""

    delivery: str
    type: str
    payment: PlatformPayment | None = None


def minor_to_amount(minor: Any, currency: str) -> Decimal:
    """An amount in the currency's smallest unit (cents, fen; yen is its own) as an exact
    Decimal in the unit: 12345 USD -> 123.45, 500 JPY -> 500, 1500 KWD -> 1.500."""
    if isinstance(minor, bool) or not isinstance(minor, int) or minor <= 0:
        raise ValueError(f"{minor!r} is not a positive whole number of the smallest unit")
    code = currency.upper()
    exponent = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    return Decimal(minor).scaleb(-exponent)


class _Fields:
    """Typed reads from a platform's JSON, collecting what is wrong by the field's path."""

    def __init__(self, data: Any, where: str, errors: dict[str, str] | None = None) -> None:
        self.data = data if isinstance(data, dict) else {}
        self.where = where
        self.errors: dict[str, str] = {} if errors is None else errors  # shared with children
        if not isinstance(data, dict):
            self.errors[where or "(body)"] = "expected a JSON object"

    def path(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def text(self, name: str, *, required: bool = True) -> str | None:
        value = self.data.get(name)
        if value is None or value == "":
            if required:
                self.errors[self.path(name)] = "is missing"
            return None
        if (
            not isinstance(value, str)
            or len(value.strip()) > 128
            or any(ord(c) < 32 or ord(c) == 127 for c in value)  # it reaches logs and files
        ):
            self.errors[self.path(name)] = "expected one line of at most 128 characters"
            return None
        return value.strip()

    def integer(self, name: str) -> int | None:
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors[self.path(name)] = "expected a whole number"
            return None
        return value

    def child(self, name: str) -> _Fields:
        return _Fields(self.data.get(name), self.path(name), self.errors)

    def check(self, what: str) -> None:
        if self.errors:
            raise FieldErrors(what, self.errors)


def _delivery(platform: str, event_id: str) -> str:
    delivery = f"{platform}:{event_id}"
    if not DELIVERY_RE.match(delivery):
        raise FieldErrors(f"{platform} event", {"id": "not an event id salesctl can keep"})
    return delivery


def _moment(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


# -- Stripe ------------------------------------------------------------------------------------


def verify_stripe(
    secret: bytes, body: bytes, header: str | None, now: float, tolerance: int
) -> None:
    """``Stripe-Signature: t=<unix time>,v1=<hex>[,v1=...]``: a v1 must be the HMAC-SHA256
    of ``t.body`` with the endpoint's signing secret (several while Stripe rolls the
    secret), and ``t`` at most ``tolerance`` seconds old, so a captured event cannot be
    replayed later."""
    if not header:
        raise BadSignature("missing Stripe-Signature header")
    timestamp, candidates = "", []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            candidates.append(value)
    if not (timestamp.isascii() and timestamp.isdigit()) or not candidates:
        raise BadSignature("Stripe-Signature has no t=<time> and v1=<signature>")
    mac = hmac.HMAC(secret, hashes.SHA256())
    mac.update(timestamp.encode() + b"." + body)
    if not any(_mac_matches(mac.copy(), candidate) for candidate in candidates):
        raise BadSignature(
            f"Stripe-Signature does not match the body (is ${STRIPE_SECRET_ENV} this "
            "endpoint's signing secret?)"
        )
    age = now - int(timestamp)
    if age > tolerance:
        raise BadSignature(
            f"Stripe-Signature is {int(age)} s old, over the {tolerance} s tolerance"
        )


def _mac_matches(mac: hmac.HMAC, candidate: str) -> bool:
    try:
        mac.verify(bytes.fromhex(candidate))  # constant time
    except (ValueError, InvalidSignature):
        return False
    return True


@dataclass(frozen=True)
class _JsonEvent:
    """What every Stripe and Ping++ event carries (they shape their events alike)."""

    delivery: str
    type: str
    created: int  # seconds since the epoch
    obj: _Fields  # ``data.object``: the session, intent or charge it is about


def _json_event(
    body: Any, platform: str, label: str, handled: tuple[str, ...]
) -> _JsonEvent | PlatformEvent:
    """A Stripe or Ping++ event's head, or the answer for a type salesctl does not take
    (taken and ignored)."""
    event = _Fields(body, "")
    event_id, kind = event.text("id"), event.text("type")
    event.check(label)
    assert event_id is not None and kind is not None
    delivery = _delivery(platform, event_id)
    if kind not in handled:
        return PlatformEvent(delivery, kind)
    created = event.integer("created")
    obj = event.child("data").child("object")
    event.check(label)
    assert created is not None
    return _JsonEvent(delivery, kind, created, obj)


def stripe_event(body: Any) -> PlatformEvent:
    """A Stripe event: ``checkout.session.completed`` (when ``payment_status`` is paid) or
    ``payment_intent.succeeded``; the PaymentIntent's id is the transaction id, so a
    session and its intent are one payment."""
    head = _json_event(body, "stripe", "Stripe event", STRIPE_EVENTS)
    if isinstance(head, PlatformEvent):
        return head
    delivery, kind, obj = head.delivery, head.type, head.obj
    if kind == "checkout.session.completed":
        status = obj.text("payment_status", required=False)
        if status != "paid":  # a delayed method: payment_intent.succeeded follows
            return PlatformEvent(delivery, f"{kind} ({status or 'unpaid'})")
        intent = obj.data.get("payment_intent")
        if isinstance(intent, dict):  # expanded
            intent = intent.get("id")
        transaction = intent if isinstance(intent, str) and intent else obj.text("id")
        minor = obj.integer("amount_total")
    else:
        transaction = obj.text("id")
        name = "amount_received" if "amount_received" in obj.data else "amount"
        minor = obj.integer(name)
    currency = obj.text("currency")
    metadata = obj.data.get("metadata")
    order_ref = None
    if isinstance(metadata, dict):
        order_ref = obj.child("metadata").text("order_ref", required=False)
    amount = _minor(obj, minor, currency)
    obj.check("Stripe event")
    assert transaction and currency and amount is not None
    paid_at = _moment(head.created)
    payment = PlatformPayment(transaction, order_ref, amount, currency, paid_at, obj.where)
    return PlatformEvent(delivery, kind, payment)


def _minor(fields: _Fields, minor: int | None, currency: str | None) -> Decimal | None:
    if minor is None or currency is None:
        return None
    try:
        return minor_to_amount(minor, currency)
    except ValueError as exc:
        fields.errors[fields.path("amount")] = str(exc)
        return None


# -- Alipay ------------------------------------------------------------------------------------


def alipay_params(body: bytes) -> dict[str, str]:
    """The form-encoded parameters of an Alipay notification, decoded in the ``charset``
    it names (utf-8 or gbk); a parameter given twice is refused."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise Invalid("the form is not URL-encoded (it has raw non-ASCII bytes)") from None
    first = urllib.parse.parse_qsl(text, keep_blank_values=True, encoding="latin-1")
    charset = (dict(first).get("charset") or "utf-8").strip().lower()
    if charset not in ALIPAY_CHARSETS:
        raise Invalid(f"charset {charset!r} is not one Alipay sends (utf-8, gbk)")
    try:
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, encoding=charset, errors="strict"
        )
    except UnicodeDecodeError:
        raise Invalid(f"the form's text is not {charset}") from None
    params = dict(pairs)
    if len(params) != len(pairs):
        raise Invalid("a parameter is given twice")
    return params


def verify_alipay(key: rsa.RSAPublicKey, params: Mapping[str, str]) -> None:
    """RSA2: ``sign`` is the base64 SHA256withRSA signature of every parameter but
    ``sign`` and ``sign_type``, sorted by name and joined as ``k=v&k=v`` (values decoded,
    in the notification's charset), checked with Alipay's public key."""
    sign_type = params.get("sign_type", "RSA2")
    if sign_type != "RSA2":
        raise BadSignature(f"sign_type {sign_type} is not RSA2 (SHA256withRSA)")
    try:
        signature = base64.b64decode(params.get("sign", ""), validate=True)
    except binascii.Error:
        signature = b""
    if not signature:
        raise BadSignature("missing or malformed sign")
    content = "&".join(
        f"{k}={v}" for k, v in sorted(params.items()) if k not in ("sign", "sign_type")
    )
    charset = params.get("charset", "utf-8").strip().lower()
    try:
        key.verify(signature, content.encode(charset), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise BadSignature(
            f"sign does not match the notification (is ${ALIPAY_KEY_ENV} Alipay's public "
            "key for this app?)"
        ) from None


def alipay_event(params: Mapping[str, str]) -> PlatformEvent:
    """An Alipay asynchronous notification: ``trade_status`` TRADE_SUCCESS or
    TRADE_FINISHED is a payment of ``total_amount`` yuan for ``out_trade_no``; Alipay's
    ``trade_no`` is the transaction id (TRADE_FINISHED after TRADE_SUCCESS is the same
    payment), ``notify_id`` the delivery."""
    fields = _Fields(dict(params), "")
    notify_id, status = fields.text("notify_id"), fields.text("trade_status")
    fields.check("Alipay notification")
    assert notify_id is not None and status is not None
    delivery = _delivery("alipay", notify_id)
    if status not in ALIPAY_PAID:
        return PlatformEvent(delivery, status)
    trade_no, out_trade_no = fields.text("trade_no"), fields.text("out_trade_no")
    total = fields.text("total_amount")
    when = fields.text("gmt_payment", required=False) or fields.text("notify_time")
    amount, paid_at = None, None
    if total is not None:
        if total.isascii() and total.replace(".", "", 1).isdigit():
            amount = Decimal(total)
        else:
            fields.errors["total_amount"] = f"{total!r} is not an amount in yuan"
    if when is not None:
        try:
            paid_at = dt.datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ALIPAY_ZONE)
        except ValueError:
            fields.errors["gmt_payment"] = f"{when!r} is not yyyy-MM-dd HH:mm:ss"
    fields.check("Alipay notification")
    assert trade_no and out_trade_no and amount is not None and paid_at is not None
    # Alipay's domestic notifications are in yuan; the org must keep its books in CNY
    payment = PlatformPayment(trade_no, out_trade_no, amount, "CNY", paid_at, "notification")
    return PlatformEvent(delivery, status, payment)


# -- Ping++ ------------------------------------------------------------------------------------


def verify_pingxx(key: rsa.RSAPublicKey, body: bytes, header: str | None) -> None:
    """``X-Pingplusplus-Signature``: the base64 RSA-SHA256 signature of the raw body,
    checked with the Ping++ public key."""
    try:
        signature = base64.b64decode((header or "").strip(), validate=True)
    except binascii.Error:
        signature = b""
    if not signature:
        raise BadSignature("missing or malformed X-Pingplusplus-Signature")
    try:
        key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise BadSignature(
            f"X-Pingplusplus-Signature does not match the body (is ${PINGXX_KEY_ENV} the "
            "Ping++ public key?)"
        ) from None


def pingxx_event(body: Any) -> PlatformEvent:
    """A Ping++ event: ``charge.succeeded`` is a payment of ``amount`` (fen, for cny) for
    ``order_no``; the charge's id is the transaction id."""
    head = _json_event(body, "pingxx", "Ping++ event", PINGXX_EVENTS)
    if isinstance(head, PlatformEvent):
        return head
    charge = head.obj
    transaction, order_no = charge.text("id"), charge.text("order_no")
    currency = charge.text("currency")
    amount = _minor(charge, charge.integer("amount"), currency)
    paid = charge.data.get("time_paid")
    paid = paid if isinstance(paid, int) and not isinstance(paid, bool) else head.created
    charge.check("Ping++ event")
    assert transaction and order_no and currency and amount is not None
    payment = PlatformPayment(transaction, order_no, amount, currency, _moment(paid), charge.where)
    return PlatformEvent(head.delivery, head.type, payment)
