"""``salesctl serve``: the webhook intake over HTTP (Starlette on uvicorn: the ``serve`` extra).

    POST /leads      a lead as JSON                 201 {"id": "L-..."}; 200 for a duplicate
    POST /payments   a payment, salesctl's JSON     201 {"id": "P-..."}; 200 for a duplicate
    POST /payments/stripe, /payments/alipay, /payments/pingxx
                     the platform's own event, signed its own way (``platforms``)
    POST /feedback   customer feedback, salesctl's JSON  201 {"id": "FB-..."}; 200 repeated
    POST /feedback/github, /feedback/discourse
                     the source's own event, signed its own way (``feedback_sources``)
    GET  /healthz    200 {"status": "ok"}

Every POST is signed: ``X-Salesctl-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` with
``$SALESCTL_WEBHOOK_SECRET``, compared in constant time; a missing or wrong signature is 401
and nothing is written. ``X-Salesctl-Delivery: <id>`` makes a POST idempotent: the same id
again gets the first answer (200) and writes nothing. A body over ``MAX_BODY`` is 413,
one that does not arrive in time 408, anything but JSON 415, JSON salesctl cannot take
(not UTF-8, too deep, lone surrogates) or bad fields 400 with ``fields``. Each refusal is
one log line naming the client, never a traceback. What the endpoints do is
``ops.integrations.intake``; the timeouts and limits are ``serve_limits``; this module is
the HTTP edge.

salesctl's operations block (git, files), so they run in the thread pool, one delivery at a
time. Chat notifications go out from a thread of their own, and so do pushes with
``--push`` (the ``sync`` of ``ops.collab.sync``: fetch, rebase, push, retried; commits that land
while a push runs go out with the next one).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hmac
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from salesctl import clock
from salesctl.errors import (
    Ambiguous,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    SalesctlError,
    UsageError,
)
from salesctl.model.config import Member
from salesctl.ops.integrations import announce, notify
from salesctl.ops.integrations import feedback_sources as fbs
from salesctl.ops.integrations import platforms as pay
from salesctl.ops.integrations.intake import DELIVERY_RE, FieldErrors, Intake
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
from salesctl.store.store import Store, on_commit

MIN_SECRET_LENGTH = 16
SECRET_ENV = "SALESCTL_WEBHOOK_SECRET"  # noqa: S105 - the variable's name, not a secret
SIGNATURE_HEADER = "x-salesctl-signature"
DELIVERY_HEADER = "x-salesctl-delivery"
NOTIFY_INTERVAL = 60.0  # retry waiting notifications this often, commits or not

JSON_MEDIA = "send JSON with Content-Type: application/json"
FORM_MEDIA = "send a form: Content-Type: application/x-www-form-urlencoded"
PLATFORM_ENV = {
    "stripe": pay.STRIPE_SECRET_ENV,
    "alipay": pay.ALIPAY_KEY_ENV,
    "pingxx": pay.PINGXX_KEY_ENV,
}

log = logging.getLogger("salesctl.serve")
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
    platforms: pay.Platforms | None = None,
    sources: fbs.Sources | None = None,
) -> Starlette:
    """The ASGI app: routes, body limits, content type, signature, JSON, idempotency."""
    body_timeout = (limits or Limits()).body_timeout
    platforms = platforms or pay.Platforms()
    sources = sources or fbs.Sources()

    def note(request: Request, status: int | str, reason: str) -> None:
        log_refusal(request.method, request.url.path, status, client_of(request.client), reason)

    def refuse(request: Request, status: int, message: str, **extra: Any) -> JSONResponse:
        note(request, status, message)
        return _error(status, message, **extra)

    async def receive(
        request: Request, media_ok: Callable[[str], bool] = _is_json, wanted: str = JSON_MEDIA
    ) -> bytes | Response:
        """The body within the limits, or the refusal to answer with."""
        too_large = f"the body is over {MAX_BODY // 1024} KB"
        # h11 bounds only headers that arrive in pieces; a single read can bring more
        if sum(len(k) + len(v) for k, v in request.scope["headers"]) > MAX_HEADERS:
            return refuse(request, 431, f"the headers are over {MAX_HEADERS // 1024} KB")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return refuse(request, 413, too_large)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if not media_ok(media):
            return refuse(request, 415, wanted)
        try:
            return await read_body(request, body_timeout)
        except BodyTooLarge:
            return closing(refuse(request, 413, too_large))
        except TimeoutError:
            late = f"the body did not arrive within {body_timeout:g} s"
            return closing(refuse(request, 408, late))
        except ClientDisconnect:
            note(request, "-", "the client went away before the body ended")
            return Response(status_code=400)  # nobody is left to read it

    async def accept(request: Request, handler: Handler, what: str) -> Response:
        body = await receive(request)
        if isinstance(body, Response):
            return body
        if not check_signature(secret, body, request.headers.get(SIGNATURE_HEADER)):
            return refuse(
                request, 401, "missing or wrong X-Salesctl-Signature (sha256=HMAC of the body)"
            )
        delivery = request.headers.get(DELIVERY_HEADER)
        if delivery is not None and not DELIVERY_RE.match(delivery):
            return refuse(
                request, 400, "X-Salesctl-Delivery: use up to 128 letters, digits, . _ : -"
            )
        try:
            data = decode_json(body)
        except BadJSON as exc:
            return refuse(request, 400, str(exc), **({"fields": exc.fields} if exc.fields else {}))
        try:
            created, answer = await run_in_threadpool(handler, data, delivery)
        except SalesctlError as exc:
            failure = _failure(exc)
            note(request, failure.status_code, f"{exc} ({what}, delivery {delivery})")
            return failure
        except Exception:
            log.exception("%s failed (delivery %s)", what, delivery)
            return _error(500, "internal error; the server log has the details")
        log.info(
            "%s %s %s (delivery %s, from %s)",
            what,
            answer.get("id"),
            "created" if created else "already there",
            delivery,
            client_of(request.client),
        )
        return JSONResponse(answer, status_code=201 if created else 200)

    async def take_event(
        request: Request, name: str, read: ReadEvent, media_ok: Callable[[str], bool], wanted: str
    ) -> Response:
        """A platform's event: its signature (401), then the payment it reports through
        the intake (idempotent on the platform's event id and transaction id), or 202 for
        an event salesctl does not take."""
        if not platforms.enabled()[name]:
            return refuse(request, 404, f"{name} is not enabled: ${PLATFORM_ENV[name]} is unset")
        body = await receive(request, media_ok, wanted)
        if isinstance(body, Response):
            return body
        try:
            event = read(request, body)
        except pay.BadSignature as exc:
            return refuse(request, 401, exc.message)
        except BadJSON as exc:
            return refuse(request, 400, str(exc), **({"fields": exc.fields} if exc.fields else {}))
        except FieldErrors as exc:
            return refuse(request, 422, exc.message, fields=exc.fields)
        except Invalid as exc:
            return refuse(request, 400, exc.message)
        if event.payment is None:
            log.info("%s event %s ignored (%s)", name, event.delivery, event.type)
            return JSONResponse({"ignored": event.type, "delivery": event.delivery}, 202)
        try:
            created, answer = await run_in_threadpool(
                intake.take_payment, event.payment.for_org, event.delivery
            )
        except SalesctlError as exc:
            failure = _platform_failure(exc)
            note(request, failure.status_code, f"{exc} ({name} event {event.delivery})")
            return failure
        except Exception:
            log.exception("%s payment failed (event %s)", name, event.delivery)
            return _error(500, "internal error; the server log has the details")
        log.info(
            "payment %s %s (%s event %s, %s, from %s)",
            answer.get("id"),
            "created" if created else "already there",
            name,
            event.delivery,
            event.type,
            client_of(request.client),
        )
        return JSONResponse(answer, status_code=201 if created else 200)

    def read_stripe(request: Request, body: bytes) -> pay.PlatformEvent:
        assert platforms.stripe_secret is not None
        header = request.headers.get("stripe-signature")
        now = clock.now().timestamp()
        pay.verify_stripe(platforms.stripe_secret, body, header, now, platforms.stripe_tolerance)
        return pay.stripe_event(decode_json(body))

    def read_alipay(request: Request, body: bytes) -> pay.PlatformEvent:
        assert platforms.alipay_key is not None
        params = pay.alipay_params(body)
        pay.verify_alipay(platforms.alipay_key, params)
        return pay.alipay_event(params)

    def read_pingxx(request: Request, body: bytes) -> pay.PlatformEvent:
        assert platforms.pingxx_key is not None
        header = request.headers.get("x-pingplusplus-signature")
        pay.verify_pingxx(platforms.pingxx_key, body, header)
        return pay.pingxx_event(decode_json(body))

    async def stripe(request: Request) -> Response:
        return await take_event(request, "stripe", read_stripe, _is_json, JSON_MEDIA)

    async def alipay(request: Request) -> Response:
        return _alipay_reply(await take_event(request, "alipay", read_alipay, _is_form, FORM_MEDIA))

    async def pingxx(request: Request) -> Response:
        return await take_event(request, "pingxx", read_pingxx, _is_json, JSON_MEDIA)

    async def take_feedback(
        request: Request, name: str, signature: str, delivery_header: str, read: Any
    ) -> Response:
        """A feedback source's event: its signature (401), then the feedback (idempotent on
        the source's delivery id), or 202 for an event salesctl does not take."""
        secret = sources.secrets.get(name)
        if secret is None:
            return refuse(request, 404, f"{name} is not enabled: ${fbs.SOURCE_ENV[name]} is unset")
        body = await receive(request)
        if isinstance(body, Response):
            return body
        try:
            fbs.verify(secret, body, request.headers.get(signature), signature)
        except pay.BadSignature as exc:
            return refuse(request, 401, exc.message)
        delivery = request.headers.get(delivery_header)
        if delivery is not None and not DELIVERY_RE.match(delivery):
            return refuse(request, 400, f"{delivery_header}: not a delivery id")
        try:
            given = read(request, decode_json(body))
        except BadJSON as exc:
            return refuse(request, 400, str(exc), **({"fields": exc.fields} if exc.fields else {}))
        except FieldErrors as exc:
            return refuse(request, 422, exc.message, fields=exc.fields)
        if given is None:
            log.info("%s delivery %s ignored", name, delivery)
            return JSONResponse({"ignored": True, "delivery": delivery}, 202)
        try:
            created, answer = await run_in_threadpool(intake.take_feedback, given, delivery)
        except SalesctlError as exc:
            failure = _platform_failure(exc)
            note(request, failure.status_code, f"{exc} ({name} delivery {delivery})")
            return failure
        except Exception:
            log.exception("%s feedback failed (delivery %s)", name, delivery)
            return _error(500, "internal error; the server log has the details")
        log.info("feedback %s from %s (delivery %s)", answer.get("id"), name, delivery)
        return JSONResponse(answer, status_code=201 if created else 200)

    def read_github(request: Request, payload: Any) -> fbs.FeedbackInput | None:
        return fbs.github_feedback(request.headers.get("x-github-event"), payload)

    def read_discourse(request: Request, payload: Any) -> fbs.FeedbackInput | None:
        headers = request.headers
        return fbs.discourse_feedback(
            headers.get("x-discourse-event-type"),
            headers.get("x-discourse-event"),
            payload,
            headers.get("x-discourse-instance"),
        )

    async def github(request: Request) -> Response:
        return await take_feedback(
            request, "github", "x-hub-signature-256", "x-github-delivery", read_github
        )

    async def discourse(request: Request) -> Response:
        return await take_feedback(
            request,
            "discourse",
            "x-discourse-event-signature",
            "x-discourse-event-id",
            read_discourse,
        )

    async def feedback(request: Request) -> Response:
        return await accept(request, intake.add_feedback, "feedback")

    async def leads(request: Request) -> Response:
        return await accept(request, intake.add_lead, "lead")

    async def payments(request: Request) -> Response:
        return await accept(request, intake.add_payment, "payment")

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        response = refuse(request, exc.status_code, exc.detail)
        response.headers.update(exc.headers or {})
        return response

    return Starlette(
        routes=[
            Route("/leads", leads, methods=["POST"]),
            Route("/payments", payments, methods=["POST"]),
            Route("/payments/stripe", stripe, methods=["POST"]),
            Route("/payments/alipay", alipay, methods=["POST"]),
            Route("/payments/pingxx", pingxx, methods=["POST"]),
            Route("/feedback", feedback, methods=["POST"]),
            Route("/feedback/github", github, methods=["POST"]),
            Route("/feedback/discourse", discourse, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
    )


class Worker:
    """A daemon thread running ``job`` when woken (wakes that come while it runs make one
    more run) and every ``interval`` seconds; a failing job is retried with growing pauses."""

    def __init__(self, name: str, job: Callable[[], object], interval: float | None = None):
        self.name = name
        self.job = job
        self.interval = interval
        self.dirty = False  # woken since the last successful run
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self.dirty = True
        self._wake.set()

    def stop(self, *, finish: bool = False) -> None:
        """Stop the thread; with ``finish``, run the job once more if it was woken since it
        last succeeded (the last commits' push)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=30)
        if finish and self.dirty:
            self._run_once()

    def _run_once(self) -> bool:
        self.dirty = False
        try:
            self.job()
            return True
        except Exception as exc:
            self.dirty = True
            log.warning("%s failed: %s", self.name, exc)
            return False

    def _loop(self) -> None:
        pause = 1.0
        while True:
            self._wake.wait(self.interval)
            if self._stop.is_set():
                return
            self._wake.clear()
            if self._run_once():
                pause = 1.0
            else:  # retry later, without waiting for another wake
                self._stop.wait(pause)
                pause = min(pause * 2, 60.0)
                self._wake.set()


def push(store: Store, actor: Member) -> None:
    """Send local commits to the remote: ``ops.collab.sync`` (fetch, rebase, push, retried) when
    this salesctl has it, else a plain pull --rebase / push loop."""
    try:
        from salesctl.ops.collab.sync import sync
    except ImportError:  # pragma: no cover - ops.collab.sync ships alongside
        pull_rebase_push(store, actor)
        return
    sync(store, actor)


def pull_rebase_push(store: Store, actor: Member, attempts: int = 5) -> None:
    """The minimal retry loop: under the store lock, ``pull --rebase`` (the rebased commits
    committed by ``actor``) then ``push``, again while someone else pushed first."""
    from salesctl.git import GitError

    env = {"GIT_COMMITTER_NAME": actor.name, "GIT_COMMITTER_EMAIL": actor.email}
    with store.repo.lock():
        store.repo.recover()
        for attempt in range(1, attempts + 1):
            store.repo.run("pull", "--rebase", "--quiet", "--no-autostash", env=env)
            try:
                store.repo.run("push", "--quiet")
                return
            except GitError:
                if attempt == attempts:
                    raise


@contextlib.contextmanager
def _one_server_per_clone(store: Store) -> Any:
    path = store.repo.state_dir / "serve.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise Conflict(
                f"another salesctl serve is running on {store.root}",
                "stop it first; one clone takes one intake server",
            ) from None
        yield
    finally:
        os.close(fd)


class IntakeServer:
    """``salesctl serve`` as an object: ``run`` blocks until ``stop`` (or Ctrl-C)."""

    def __init__(
        self,
        store: Store,
        actor: Member,
        secret: str | None,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        push_commits: bool = False,
        log_level: str = "info",
        limits: Limits | None = None,
        platforms: pay.Platforms | None = None,
        sources: fbs.Sources | None = None,
    ) -> None:
        from salesctl import scopes

        on_commit(announce)  # a lead or payment that lands is announced like the CLI's

        if not secret:
            raise UsageError(
                f"${SECRET_ENV} is not set: serve accepts only signed requests",
                f"export {SECRET_ENV}=$(openssl rand -hex 32), and give senders the same",
            )
        if len(secret) < MIN_SECRET_LENGTH:
            raise UsageError(
                f"${SECRET_ENV} is shorter than {MIN_SECRET_LENGTH} characters",
                "use a long random one: openssl rand -hex 32",
            )
        if not scopes.action_allowed(store.config, actor, "lead.add"):
            raise Forbidden(
                f"{actor.id} ({actor.role}) may not lead.add, so cannot take in leads",
                "run serve --as a member whose role allows lead.add (and contract.pay)",
            )
        self.root = store.root
        self.secret = secret.encode("utf-8")
        self.actor = actor
        self.host, self.port, self.push_commits, self.log_level = (
            host,
            port,
            push_commits,
            log_level,
        )
        self.limits = limits or Limits()
        # read now, so a missing key file stops serve before it listens
        self.platforms = platforms or pay.Platforms.from_environment()
        self.sources = sources or fbs.Sources.from_environment()
        self.intake = Intake(self.root, actor.id)
        self._server: Any = None

    def _push(self) -> None:
        store = Store(self.root)
        push(store, store.identify(self.actor.id))

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        import uvicorn

        store = Store(self.root)
        with _one_server_per_clone(store):
            self.intake.log.prune()
            learned = self.intake.log.catch_up()
            if learned:
                log.info("learned %d delivery ids from the history", learned)
            enabled = self.platforms.enabled()
            log.info(
                "payment platforms: %s",
                ", ".join(
                    f"{name} on" if on else f"{name} off (${PLATFORM_ENV[name]} unset)"
                    for name, on in enabled.items()
                ),
            )
            log.info(
                "feedback sources: %s",
                ", ".join(
                    f"{name} on" if on else f"{name} off (${fbs.SOURCE_ENV[name]} unset)"
                    for name, on in self.sources.enabled().items()
                ),
            )
            notifier = Worker(
                "salesctl-notify",
                lambda: notify.flush(Store(self.root), due_only=True),
                NOTIFY_INTERVAL,
            )
            pusher = Worker("salesctl-push", self._push) if self.push_commits else None
            notifier.start()
            notify.deliver_in_background(self.root, notifier.wake)
            if pusher is not None:
                pusher.start()
                self.intake.on_commit = pusher.wake
                pusher.wake()  # commits made while the server was down go out too
            config = uvicorn.Config(
                create_app(self.intake, self.secret, self.limits, self.platforms, self.sources),
                host=self.host,
                port=self.port,
                log_level=self.log_level,
                access_log=False,  # the app logs one line per delivery or refusal instead
                lifespan="off",
                server_header=False,
                timeout_graceful_shutdown=10,
                **self.limits.uvicorn_settings(),
            )
            self._server = uvicorn.Server(config)
            try:
                self._server.run(sockets=sockets)
            finally:
                notify.deliver_in_background(self.root, None)
                self.intake.on_commit = None
                notifier.stop()
                if pusher is not None:
                    pusher.stop(finish=True)

    @property
    def started(self) -> bool:
        return bool(self._server is not None and self._server.started)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True


def serve_forever(store: Store, actor: Member, **options: Any) -> None:
    """Run the intake server in the foreground (the CLI's ``serve``) until Ctrl-C or
    SIGTERM, then stop cleanly: the last commits pushed, the outbox left for later."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    server = IntakeServer(store, actor, os.environ.get(SECRET_ENV), **options)
    # uvicorn re-raises the signal that stopped it; as KeyboardInterrupt it unwinds through
    # run()'s cleanup instead of killing the process on the spot.
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        server.run()
    except KeyboardInterrupt:
        log.info("stopped")
    finally:
        signal.signal(signal.SIGTERM, previous)
