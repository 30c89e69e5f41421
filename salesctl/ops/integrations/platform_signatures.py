"""Payment platforms' signatures: which platforms ``serve`` takes events from, and the
check that an event really comes from one.

Each platform signs its events its own way; ``verify_stripe``, ``verify_alipay`` and
``verify_pingxx`` check that with the ``cryptography`` library (never by hand) and raise
``BadSignature``. Secrets and keys come from the environment only
(``Platforms.from_environment``); a platform without one is not enabled. What a verified
event says is read in ``platforms``.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from salesctl.errors import Invalid, UsageError

STRIPE_SECRET_ENV = "SALESCTL_STRIPE_SECRET"  # noqa: S105 - the variable's name
STRIPE_TOLERANCE_ENV = "SALESCTL_STRIPE_TOLERANCE"
ALIPAY_KEY_ENV = "SALESCTL_ALIPAY_PUBLIC_KEY"
PINGXX_KEY_ENV = "SALESCTL_PINGXX_PUBLIC_KEY"
STRIPE_TOLERANCE = 300  # seconds; Stripe's libraries' default


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


# -- Alipay ------------------------------------------------------------------------------------


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
