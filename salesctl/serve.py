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
``ops.integrations.intake``; the HTTP edge (routes, signatures, status codes) is
``serve_http``, the timeouts and limits ``serve_limits``; this module runs the server: one
per clone, its background threads, a clean stop.

salesctl's operations block (git, files), so they run in the thread pool, one delivery at a
time. Chat notifications go out from a thread of their own, and so do pushes with
``--push`` (the ``sync`` of ``ops.collab.sync``: fetch, rebase, push, retried; commits that land
while a push runs go out with the next one).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from salesctl.errors import Conflict, Forbidden, UsageError
from salesctl.model.config import Member
from salesctl.ops.integrations import announce, notify
from salesctl.ops.integrations import feedback_sources as fbs
from salesctl.ops.integrations import platform_signatures as sig
from salesctl.ops.integrations.intake import Intake
from salesctl.serve_http import PLATFORM_ENV, create_app
from salesctl.serve_limits import Limits
from salesctl.store.store import Store, on_commit

MIN_SECRET_LENGTH = 16
SECRET_ENV = "SALESCTL_WEBHOOK_SECRET"  # noqa: S105 - the variable's name, not a secret
NOTIFY_INTERVAL = 60.0  # retry waiting notifications this often, commits or not

log = logging.getLogger("salesctl.serve")


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
        platforms: sig.Platforms | None = None,
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
        self.platforms = platforms or sig.Platforms.from_environment()
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
