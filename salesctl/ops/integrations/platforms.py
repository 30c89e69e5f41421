"""Payment platforms' own webhooks: what a Stripe, Alipay or Ping++ event says.

Once ``platform_signatures`` has checked an event, ``stripe_event``, ``alipay_event`` and
``pingxx_event`` map it to a ``PlatformEvent``: the delivery id the intake remembers (the
platform's own event id) and, when it is a payment salesctl takes, a ``PlatformPayment``
that ``for_org`` turns into the intake's ``PaymentInput`` (the transaction id becomes the
payment's ``ref``, so one payment reported by two events is recorded once).
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from salesctl.errors import Invalid
from salesctl.model.config import Config
from salesctl.model.values import coerce_amount
from salesctl.ops.integrations.deliveries import DELIVERY_RE
from salesctl.ops.integrations.intake_fields import FieldErrors, PaymentInput

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
