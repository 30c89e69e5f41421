"""The HTTP edge of ``salesctl serve``: the ASGI app (Starlette) and what each answer is.

Each route takes the body within the limits (``serve_limits``), checks the content type
and the signature (salesctl's own HMAC, or a platform's or a feedback source's own), decodes
the JSON and hands it to the intake in the thread pool; the intake's errors become status
codes here. ``serve`` (the module) runs this app on uvicorn.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from salesctl import clock
from salesctl.errors import Ambiguous, Conflict, Forbidden, Invalid, NotFound, SalesctlError
from salesctl.ops.integrations import feedback_sources as fbs
from salesctl.ops.integrations import platform_signatures as sig
from salesctl.ops.integrations import platforms as pay
from salesctl.ops.integrations.deliveries import DELIVERY_RE, PAYMENTS
from salesctl.ops.integrations.intake import Intake
from salesctl.ops.integrations.intake_fields import FieldErrors
from salesctl.serve_limits import (
    MAX_BODY,
    MAX_HEADERS,
    BadJSON,
    BodyTooLarge,
    Limits,
    client_of,
    decode_json,
    log_refusal,
    read_body,
)

SIGNATURE_HEADER = "x-salesctl-signature"
DELIVERY_HEADER = "x-salesctl-delivery"
JSON_MEDIA = "send JSON with Content-Type: application/json"
FORM_MEDIA = "send a form: Content-Type: application/x-www-form-urlencoded"
PLATFORM_ENV = {
    "stripe": sig.STRIPE_SECRET_ENV,
    "alipay": sig.ALIPAY_KEY_ENV,
    "pingxx": sig.PINGXX_KEY_ENV,
}

log = logging.getLogger("salesctl.serve")  # one log for the whole server
Handler = Callable[[Any, str | None], tuple[bool, dict[str, Any]]]
ReadEvent = Callable[[Request, bytes], pay.PlatformEvent]


def check_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Does ``header`` carry ``sha256=<hex HMAC-SHA256 of body>``? Constant time."""
    if not header:
        return False
    expected = b"sha256=" + hmac.new(secret, body, "sha256").hexdigest().encode()
    return hmac.compare_digest(expected, header.strip().encode("latin-1", "replace"))


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def _failure(exc: SalesctlError) -> JSONResponse:
    hint = {"hint": exc.hint} if exc.hint else {}
    if isinstance(exc, FieldErrors):
        return _error(400, exc.message, fields=exc.fields, **hint)
    if isinstance(exc, Forbidden):
        return _error(403, exc.message, **hint)
    if isinstance(exc, NotFound):
        return _error(404, exc.message, **hint)
    if isinstance(exc, Ambiguous):
        return _error(409, exc.message, **hint)
    if isinstance(exc, Conflict):  # the store is busy or needs a hand: try again later
        response = _error(503, exc.message, **hint)
        response.headers["Retry-After"] = "10"
        return response
    return _error(400, exc.message, **hint)


def _platform_failure(exc: SalesctlError) -> JSONResponse:
    """A platform's verified event salesctl cannot take is 422 (not the 400/404 of
    salesctl's own JSON: the request is fine, the payment it reports is not)."""
    if isinstance(exc, Invalid | NotFound):
        extra: dict[str, Any] = {"fields": exc.fields} if isinstance(exc, FieldErrors) else {}
        if exc.hint:
            extra["hint"] = exc.hint
        return _error(422, exc.message, **extra)
    return _failure(exc)


def _alipay_reply(response: Response) -> Response:
    """Alipay reads only the body: ``success`` (also for a repeat or a status salesctl
    ignores) or ``fail``, when it retries. The status code stays for the log and proxies."""
    if response.status_code < 300:
        return PlainTextResponse("success")
    reply = PlainTextResponse("fail", status_code=response.status_code)
    for name in ("connection", "retry-after"):
        if name in response.headers:
            reply.headers[name] = response.headers[name]
    return reply


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _is_form(media: str) -> bool:
    return media == "application/x-www-form-urlencoded"


def closing(response: Response) -> Response:
    """``response``, after which the connection closes: the rest of the body is not read."""
    response.headers["Connection"] = "close"
    return response


def create_app(
    intake: Intake,
    secret: bytes,
    limits: Limits | None = None,
    platforms: sig.Platforms | None = None,
    sources: fbs.Sources | None = None,
) -> Starlette:
    """The ASGI app: routes, body limits, content type, signature, JSON, idempotency."""
    return Endpoints(intake, secret, limits, platforms, sources).app()


class Endpoints:
    """What the server answers, a method a route (and the steps they share)."""

    def __init__(
        self,
        intake: Intake,
        secret: bytes,
        limits: Limits | None = None,
        platforms: sig.Platforms | None = None,
        sources: fbs.Sources | None = None,
    ) -> None:
        self.intake = intake
        self.secret = secret
        self.body_timeout = (limits or Limits()).body_timeout
        self.platforms = platforms or sig.Platforms()
        self.sources = sources or fbs.Sources()

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/leads", self.leads, methods=["POST"]),
                Route("/payments", self.payments, methods=["POST"]),
                Route("/payments/stripe", self.stripe, methods=["POST"]),
                Route("/payments/alipay", self.alipay, methods=["POST"]),
                Route("/payments/pingxx", self.pingxx, methods=["POST"]),
                Route("/feedback", self.feedback, methods=["POST"]),
                Route("/feedback/github", self.github, methods=["POST"]),
                Route("/feedback/discourse", self.discourse, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
            ],
            exception_handlers={HTTPException: self.http_error},
        )

    def note(self, request: Request, status: int | str, reason: str) -> None:
        log_refusal(request.method, request.url.path, status, client_of(request.client), reason)

    def refuse(self, request: Request, status: int, message: str, **extra: Any) -> JSONResponse:
        self.note(request, status, message)
        return _error(status, message, **extra)

    def refuse_json(self, request: Request, exc: BadJSON) -> JSONResponse:
        return self.refuse(request, 400, str(exc), **({"fields": exc.fields} if exc.fields else {}))

    async def commit(
        self,
        request: Request,
        what: str,
        about: str,
        failure_of: Callable[[SalesctlError], JSONResponse],
        take: Callable[..., tuple[bool, dict[str, Any]]],
        *args: Any,
    ) -> Response:
        """``take(*args)`` in the thread pool (salesctl's writes block), answered with its
        record: 201 created, 200 already there; ``about`` names the delivery in the log."""
        try:
            created, answer = await run_in_threadpool(take, *args)
        except SalesctlError as exc:
            failure = failure_of(exc)
            self.note(request, failure.status_code, f"{exc} ({what}, {about})")
            return failure
        except Exception:
            log.exception("%s failed (%s)", what, about)
            return _error(500, "internal error; the server log has the details")
        log.info(
            "%s %s %s (%s, from %s)",
            what,
            answer.get("id"),
            "created" if created else "already there",
            about,
            client_of(request.client),
        )
        return JSONResponse(answer, status_code=201 if created else 200)

    async def receive(
        self, request: Request, media_ok: Callable[[str], bool] = _is_json, wanted: str = JSON_MEDIA
    ) -> bytes | Response:
        """The body within the limits, or the refusal to answer with."""
        too_large = f"the body is over {MAX_BODY // 1024} KB"
        # h11 bounds only headers that arrive in pieces; a single read can bring more
        if sum(len(k) + len(v) for k, v in request.scope["headers"]) > MAX_HEADERS:
            return self.refuse(request, 431, f"the headers are over {MAX_HEADERS // 1024} KB")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return self.refuse(request, 413, too_large)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if not media_ok(media):
            return self.refuse(request, 415, wanted)
        try:
            return await read_body(request, self.body_timeout)
        except BodyTooLarge:
            return closing(self.refuse(request, 413, too_large))
        except TimeoutError:
            late = f"the body did not arrive within {self.body_timeout:g} s"
            return closing(self.refuse(request, 408, late))
        except ClientDisconnect:
            self.note(request, "-", "the client went away before the body ended")
            return Response(status_code=400)  # nobody is left to read it

    async def accept(self, request: Request, handler: Handler, what: str) -> Response:
        body = await self.receive(request)
        if isinstance(body, Response):
            return body
        if not check_signature(self.secret, body, request.headers.get(SIGNATURE_HEADER)):
            return self.refuse(
                request, 401, "missing or wrong X-Salesctl-Signature (sha256=HMAC of the body)"
            )
        delivery = request.headers.get(DELIVERY_HEADER)
        if delivery is not None and not DELIVERY_RE.match(delivery):
            return self.refuse(
                request, 400, "X-Salesctl-Delivery: use up to 128 letters, digits, . _ : -"
            )
        try:
            data = decode_json(body)
        except BadJSON as exc:
            return self.refuse_json(request, exc)
        about = f"delivery {delivery}"
        return await self.commit(request, what, about, _failure, handler, data, delivery)

    async def take_event(
        self,
        request: Request,
        name: str,
        read: ReadEvent,
        media_ok: Callable[[str], bool],
        wanted: str,
    ) -> Response:
        """A platform's event: its signature (401), then the payment it reports through
        the intake (idempotent on the platform's event id and transaction id), or 202 for
        an event salesctl does not take."""
        if not self.platforms.enabled()[name]:
            return self.refuse(
                request, 404, f"{name} is not enabled: ${PLATFORM_ENV[name]} is unset"
            )
        body = await self.receive(request, media_ok, wanted)
        if isinstance(body, Response):
            return body
        try:
            event = read(request, body)
        except sig.BadSignature as exc:
            return self.refuse(request, 401, exc.message)
        except BadJSON as exc:
            return self.refuse_json(request, exc)
        except FieldErrors as exc:
            return self.refuse(request, 422, exc.message, fields=exc.fields)
        except Invalid as exc:
            return self.refuse(request, 400, exc.message)
        if event.payment is None:
            log.info("%s event %s ignored (%s)", name, event.delivery, event.type)
            return JSONResponse({"ignored": event.type, "delivery": event.delivery}, 202)
        about, read_payment = f"{name} event {event.delivery}, {event.type}", event.payment.for_org
        return await self.commit(
            request,
            "payment",
            about,
            _platform_failure,
            self.intake.take_payment,
            read_payment,
            event.delivery,
            f"{PAYMENTS}/{name}",  # a platform's event ids are its own
        )

    def read_stripe(self, request: Request, body: bytes) -> pay.PlatformEvent:
        assert self.platforms.stripe_secret is not None
        header = request.headers.get("stripe-signature")
        now = clock.now().timestamp()
        sig.verify_stripe(
            self.platforms.stripe_secret, body, header, now, self.platforms.stripe_tolerance
        )
        return pay.stripe_event(decode_json(body))

    def read_alipay(self, request: Request, body: bytes) -> pay.PlatformEvent:
        assert self.platforms.alipay_key is not None
        params = pay.alipay_params(body)
        sig.verify_alipay(self.platforms.alipay_key, params)
        return pay.alipay_event(params)

    def read_pingxx(self, request: Request, body: bytes) -> pay.PlatformEvent:
        assert self.platforms.pingxx_key is not None
        header = request.headers.get("x-pingplusplus-signature")
        sig.verify_pingxx(self.platforms.pingxx_key, body, header)
        return pay.pingxx_event(decode_json(body))

    async def stripe(self, request: Request) -> Response:
        return await self.take_event(request, "stripe", self.read_stripe, _is_json, JSON_MEDIA)

    async def alipay(self, request: Request) -> Response:
        return _alipay_reply(
            await self.take_event(request, "alipay", self.read_alipay, _is_form, FORM_MEDIA)
        )

    async def pingxx(self, request: Request) -> Response:
        return await self.take_event(request, "pingxx", self.read_pingxx, _is_json, JSON_MEDIA)

    async def take_feedback(
        self, request: Request, name: str, signature: str, delivery_header: str, read: Any
    ) -> Response:
        """A feedback source's event: its signature (401), then the feedback (idempotent on
        the source's delivery id), or 202 for an event salesctl does not take."""
        secret = self.sources.secrets.get(name)
        if secret is None:
            return self.refuse(
                request, 404, f"{name} is not enabled: ${fbs.SOURCE_ENV[name]} is unset"
            )
        body = await self.receive(request)
        if isinstance(body, Response):
            return body
        try:
            fbs.verify(secret, body, request.headers.get(signature), signature)
        except sig.BadSignature as exc:
            return self.refuse(request, 401, exc.message)
        delivery = request.headers.get(delivery_header)
        if delivery is not None and not DELIVERY_RE.match(delivery):
            return self.refuse(request, 400, f"{delivery_header}: not a delivery id")
        try:
            given = read(request, decode_json(body))
        except BadJSON as exc:
            return self.refuse_json(request, exc)
        except FieldErrors as exc:
            return self.refuse(request, 422, exc.message, fields=exc.fields)
        if given is None:
            log.info("%s delivery %s ignored", name, delivery)
            return JSONResponse({"ignored": True, "delivery": delivery}, 202)
        about = f"{name} delivery {delivery}"
        return await self.commit(
            request,
            "feedback",
            about,
            _platform_failure,
            self.intake.take_feedback,
            given,
            delivery,
        )

    def read_github(self, request: Request, payload: Any) -> fbs.FeedbackInput | None:
        return fbs.github_feedback(request.headers.get("x-github-event"), payload)

    def read_discourse(self, request: Request, payload: Any) -> fbs.FeedbackInput | None:
        headers = request.headers
        return fbs.discourse_feedback(
            headers.get("x-discourse-event-type"),
            headers.get("x-discourse-event"),
            payload,
            headers.get("x-discourse-instance"),
        )

    async def github(self, request: Request) -> Response:
        return await self.take_feedback(
            request, "github", "x-hub-signature-256", "x-github-delivery", self.read_github
        )

    async def discourse(self, request: Request) -> Response:
        return await self.take_feedback(
            request,
            "discourse",
            "x-discourse-event-signature",
            "x-discourse-event-id",
            self.read_discourse,
        )

    async def feedback(self, request: Request) -> Response:
        return await self.accept(request, self.intake.add_feedback, "feedback")

    async def leads(self, request: Request) -> Response:
        return await self.accept(request, self.intake.add_lead, "lead")

    async def payments(self, request: Request) -> Response:
        return await self.accept(request, self.intake.add_payment, "payment")

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def http_error(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        response = self.refuse(request, exc.status_code, exc.detail)
        response.headers.update(exc.headers or {})
        return response
