"""Chat notifications: deals won, contracts signed, payments received (and @mentions) sent
to Slack-, DingTalk-, Feishu- or WeCom-style incoming webhooks, or as JSON to any URL.

Flow: once a command's commit has landed, ``Store.transaction`` hands its events to
``after_commit``, which writes one outbox file per event per hook under
``.git/salesctl/outbox/`` (never committed) and sends what is due within ``INLINE_BUDGET``
seconds in all. What fails waits for ``salesctl notify flush`` (cron) or the next command;
the command itself never fails or waits longer because of a hook.

At most once per hook. An entry is a file that moves between state directories:

    pending/    waiting; ``next_attempt`` spaces out the retries of a failing hook
    sending/    claimed by one sender: the rename from pending/ is atomic, so two
                concurrent flushes never both send it
    sent/       delivered (kept ``KEEP_SENT`` for ``notify list --all``)
    uncertain/  the request went out but no answer came: it may have been delivered, so
                it is re-sent only on request (``notify flush --resend-uncertain``); an
                entry a killed process left in sending/ counts as uncertain too
    failed/     still undelivered after ``GIVE_UP_AFTER``, or its hook was removed

A refused connection, an error status or the platform's own error code (DingTalk and WeCom
``errcode``, Feishu ``code``) means not delivered: back to pending/ for a later retry.
What a message says and each platform's body: ``ops.integrations.notify_formats``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus, urlsplit

from salesctl import __version__
from salesctl.atomic import write_atomic
from salesctl.errors import NotFound
from salesctl.model.config import Config
from salesctl.model.integrations import Hook, expand_env, parse_hooks
from salesctl.ops.integrations.notify_formats import platform_error, render

if TYPE_CHECKING:
    from salesctl.store.store import Store, Transaction

INLINE_BUDGET = 2.0  # seconds a command may spend announcing, all hooks together
FLUSH_TIMEOUT = 10.0  # per request, in `notify flush`
GIVE_UP_AFTER = 3 * 24 * 3600
KEEP_SENT = 7 * 24 * 3600
STALE_CLAIM = 300  # an entry in sending/ this old has lost its sender
MAX_BACKOFF = 3600
STATES = ("pending", "sending", "sent", "uncertain", "failed")

# A long-running process (``salesctl serve``) delivers from a thread of its own instead of
# inside its requests: store root -> wake that thread.
_background: dict[Path, Callable[[], None]] = {}


class NotifyError(Exception):
    """A message that cannot be sent as configured (e.g. an unset ${VAR})."""


def hooks_of(config: Config) -> list[Hook]:
    return parse_hooks(config.extra.get("notify"), config.members)[0]


def find_hook(config: Config, name: str) -> Hook:
    """A hook by its name or its 1-based position under ``notify:``."""
    hooks = hooks_of(config)
    for hook in hooks:
        if name in (hook.name, str(hook.position), hook.key):
            return hook
    listed = ", ".join(h.name or str(h.position) for h in hooks) or "none configured"
    raise NotFound(
        f"no notify hook {name!r} (hooks: {listed})", "add it under notify: in salesctl.yaml"
    )


def outbox_dir(store: Store) -> Path:
    return store.repo.state_dir / "outbox"


def deliver_in_background(root: Path, wake: Callable[[], None] | None) -> None:
    """Let a long-running process take over delivery for the store at ``root``."""
    if wake is None:
        _background.pop(root.resolve(), None)
    else:
        _background[root.resolve()] = wake


# -- queueing ------------------------------------------------------------------------------


def after_commit(store: Store, tx: Transaction) -> None:
    """Queue the commit's events for their hooks, then send what is due, briefly."""
    if tx.commit_id and tx.events:
        events = [(e, redacted(p)) for e, p in tx.events] if tx.sealed else tx.events
        enqueue(store, tx.commit_id, events)
    wake = _background.get(store.root.resolve()) if _background else None
    if wake is not None:
        wake()
    elif _has_pending(store):
        flush(store, budget=INLINE_BUDGET, due_only=True)


# What a chat message may still say about an encrypted record: ids and member ids, never
# names, amounts or text (the chat platform is outside the org's keys).
SEALED_SAFE = ("deal", "contract", "customer_id", "owner", "author", "mentions", "record", "id")


def redacted(payload: dict[str, Any]) -> dict[str, Any]:
    """An event's payload as an encrypted store may send it (``notify_formats.describe``
    tells it by ids)."""
    return {**{k: v for k, v in payload.items() if k in SEALED_SAFE}, "sealed": True}


def enqueue(store: Store, commit: str, events: list[tuple[str, dict[str, Any]]]) -> list[Path]:
    """One pending entry per event per hook that wants it."""
    hooks = hooks_of(store.config)
    written: list[Path] = []
    now = time.time()
    for number, (event, payload) in enumerate(events):
        event_id = f"{commit[:12]}-{number}"
        for hook in hooks:
            if event not in hook.events:
                continue
            entry = {
                "version": 1,
                "id": event_id,
                "event": event,
                "hook": hook.key,
                "commit": commit,
                "created": now,
                "payload": payload,
                "attempts": 0,
                "next_attempt": 0,
                "last_error": None,
            }
            name = f"{int(now * 1000):013d}-{event_id}-{hook.key}.json"
            path = _state(store, "pending") / name
            write_atomic(path, json.dumps(entry, default=str, ensure_ascii=False).encode())
            written.append(path)
    return written


def _state(store: Store, state: str) -> Path:
    path = outbox_dir(store) / state
    path.mkdir(parents=True, exist_ok=True)
    return path


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _has_pending(store: Store) -> bool:
    folder = outbox_dir(store) / "pending"
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as found:
        return any(e.name.endswith(".json") for e in found)
    return False


# -- flushing ------------------------------------------------------------------------------


@dataclass
class FlushResult:
    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    waiting: int = 0  # pending entries not tried (not yet due, or the budget ran out)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def flush(
    store: Store,
    *,
    budget: float | None = None,
    due_only: bool = False,
    hook: str | None = None,
    resend_uncertain: bool = False,
    timeout: float = FLUSH_TIMEOUT,
) -> FlushResult:
    """Send pending entries (only those due, with ``due_only``) within ``budget`` seconds."""
    started = time.monotonic()
    hooks = {h.key: h for h in hooks_of(store.config)}
    only = find_hook(store.config, hook).key if hook else None
    if resend_uncertain:
        _requeue_uncertain(store, only)
    _prune_sent(store)
    result = FlushResult()
    broken: set[str] = set()  # hooks that failed in this run: their other entries wait
    for path in _entries(outbox_dir(store) / "pending"):
        left = None if budget is None else budget - (time.monotonic() - started)
        entry = _read(path)
        if entry is None:
            continue  # taken by another sender, or unreadable (moved to failed/)
        target = hooks.get(entry["hook"])
        label = f"{entry['event']} {entry['id']} -> {target.label if target else entry['hook']}"
        if only is not None and entry["hook"] != only:
            continue
        if target is None:
            _settle_unclaimed(path, entry, "failed", "the hook is no longer in salesctl.yaml")
            result.failed.append(label)
            continue
        if (
            target.key in broken
            or (due_only and entry.get("next_attempt", 0) > time.time())
            or (left is not None and left < 0.1)
        ):
            result.waiting += 1
            continue
        outcome = _deliver(store, path, target, min(timeout, left) if left else timeout)
        if outcome == "sent":
            result.sent.append(label)
        elif outcome in ("uncertain", "running"):
            result.uncertain.append(label)
            broken.add(target.key)
        elif outcome == "failed":
            result.failed.append(label)
            broken.add(target.key)
        elif outcome == "retry":
            result.retrying.append(label)
            broken.add(target.key)
    return result


def _read(path: Path) -> dict[str, Any] | None:
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(entry, dict) or not {"id", "event", "hook"} <= set(entry):
            raise ValueError("not an outbox entry")
        return entry
    except FileNotFoundError:
        return None
    except ValueError:
        with contextlib.suppress(OSError):
            (path.parent.parent / "failed").mkdir(exist_ok=True)
            path.rename(path.parent.parent / "failed" / path.name)
        return None


def _deliver(store: Store, path: Path, hook: Hook, timeout: float) -> str:
    """Claim one entry, send it and settle it: sent, retry, failed, uncertain, or taken
    (another sender claimed it first), or running (still sending when time was up)."""
    claimed = _state(store, "sending") / path.name
    try:
        os.rename(path, claimed)
    except FileNotFoundError:
        return "taken"
    os.utime(claimed)  # the claim's time, for spotting senders that died
    outcome: list[str] = []

    def work() -> None:
        outcome.append(_send_claimed(store.config, claimed, hook, timeout))

    # A thread, so that even a hanging DNS lookup cannot hold the command past its budget.
    sender = threading.Thread(target=work, name="salesctl-notify", daemon=True)
    sender.start()
    sender.join(timeout)
    return outcome[0] if outcome else "running"


def _send_claimed(config: Config, claimed: Path, hook: Hook, timeout: float) -> str:
    entry = json.loads(claimed.read_text(encoding="utf-8"))
    try:
        url, body, headers = build_request(config, hook, entry)
        status, detail = post(url, body, headers, timeout, hook.format)
    except NotifyError as exc:
        status, detail = "retry", str(exc)
    except Exception as exc:  # a bug must not strand the entry in sending/
        status, detail = "retry", f"internal error: {type(exc).__name__}"
    entry["attempts"] = int(entry.get("attempts", 0)) + 1
    entry["last_error"] = None if status == "sent" else detail
    entry["last_attempt"] = time.time()
    if status == "retry":
        if time.time() - float(entry.get("created", 0)) > GIVE_UP_AFTER:
            status = "failed"
        entry["next_attempt"] = time.time() + min(MAX_BACKOFF, 60 * 2 ** (entry["attempts"] - 1))
    folder = claimed.parent.parent / ("pending" if status == "retry" else status)
    folder.mkdir(exist_ok=True)
    write_atomic(claimed, json.dumps(entry, default=str, ensure_ascii=False).encode())
    os.rename(claimed, folder / claimed.name)
    return status


def _settle_unclaimed(path: Path, entry: dict[str, Any], state: str, error: str) -> None:
    claimed = path.parent.parent / "sending" / path.name
    try:
        os.rename(path, claimed)
    except FileNotFoundError:
        return
    entry["last_error"] = error
    write_atomic(claimed, json.dumps(entry, default=str, ensure_ascii=False).encode())
    (claimed.parent.parent / state).mkdir(exist_ok=True)
    os.rename(claimed, claimed.parent.parent / state / claimed.name)


def _stale_claims(store: Store) -> list[Path]:
    limit = time.time() - STALE_CLAIM
    found = []
    for path in _entries(outbox_dir(store) / "sending"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < limit:
                found.append(path)
    return found


def _requeue_uncertain(store: Store, only: str | None) -> None:
    pending = _state(store, "pending")
    for path in [*_entries(outbox_dir(store) / "uncertain"), *_stale_claims(store)]:
        entry = _read(path)
        if entry is None or (only is not None and entry["hook"] != only):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.rename(path, pending / path.name)


def _prune_sent(store: Store) -> None:
    limit = time.time() - KEEP_SENT
    for path in _entries(outbox_dir(store) / "sent"):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < limit:
                path.unlink()


def list_outbox(store: Store, *, include_sent: bool = False) -> list[dict[str, Any]]:
    """The outbox entries, oldest first: state, event, hook, attempts and the last error."""
    hooks = {h.key: h for h in hooks_of(store.config)}
    stale = set(_stale_claims(store))
    rows = []
    states = [s for s in STATES if include_sent or s != "sent"]
    for state in states:
        for path in _entries(outbox_dir(store) / state):
            with contextlib.suppress(FileNotFoundError, ValueError):
                entry = json.loads(path.read_text(encoding="utf-8"))
                hook = hooks.get(entry.get("hook", ""))
                rows.append(
                    {
                        "state": "uncertain" if path in stale else state,
                        "id": entry.get("id"),
                        "event": entry.get("event"),
                        "hook": hook.label if hook else entry.get("hook"),
                        "attempts": entry.get("attempts", 0),
                        "created": _iso(entry.get("created")),
                        "next_attempt": _iso(entry.get("next_attempt"))
                        if state == "pending"
                        else None,
                        "last_error": entry.get("last_error"),
                        "file": path.name,
                    }
                )
    rows.sort(key=lambda r: (r["file"], r["state"]))
    return rows


def _iso(stamp: Any) -> str | None:
    if not stamp:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(float(stamp)))


def send_test(store: Store, name: str) -> dict[str, Any]:
    """Send a sample message to one hook now (not through the outbox)."""
    hook = find_hook(store.config, name)
    entry: dict[str, Any] = {"id": "test", "event": "test", "hook": hook.key, "payload": {}}
    try:
        url, body, headers = build_request(store.config, hook, entry)
        status, detail = post(url, body, headers, FLUSH_TIMEOUT, hook.format)
    except NotifyError as exc:
        status, detail = "failed", str(exc)
    return {"hook": hook.label, "format": hook.format, "sent": status == "sent", "detail": detail}


# -- sending -------------------------------------------------------------------------------


def build_request(
    config: Config, hook: Hook, entry: dict[str, Any]
) -> tuple[str, bytes, dict[str, str]]:
    """(expanded URL, body, headers) of one entry for one hook; secrets expanded only here."""
    url, missing = expand_env(hook.url)
    secret = None
    if hook.secret is not None:
        secret, more = expand_env(hook.secret)
        missing += more
    if missing:
        raise NotifyError(f"environment variable {', '.join(sorted(set(missing)))} is not set")
    if urlsplit(url).scheme not in ("http", "https"):
        raise NotifyError("the URL, with its ${VAR}s expanded, does not start with https://")
    body = render(config, hook, entry)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"salesctl/{__version__}",
        "X-Salesctl-Event": str(entry["event"]),
        "X-Salesctl-Delivery": f"{entry['id']}-{hook.key}",  # lets a receiver drop repeats
    }
    if secret and hook.format == "dingtalk":
        stamp = str(int(time.time() * 1000))
        digest = hmac.new(secret.encode(), f"{stamp}\n{secret}".encode(), hashlib.sha256).digest()
        joiner = "&" if "?" in url else "?"
        url += f"{joiner}timestamp={stamp}&sign={quote_plus(base64.b64encode(digest))}"
    elif secret and hook.format == "feishu":
        stamp = str(int(time.time()))
        digest = hmac.new(f"{stamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
        body = {"timestamp": stamp, "sign": base64.b64encode(digest).decode(), **body}
    data = json.dumps(body, ensure_ascii=False, default=str).encode("utf-8")
    if secret and hook.format == "generic":
        headers["X-Salesctl-Signature"] = "sha256=" + signature(secret, data)
    return url, data, headers


def signature(secret: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of ``body``: what ``X-Salesctl-Signature: sha256=...`` carries."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float, fmt: str
) -> tuple[str, str]:
    """POST and classify: ("sent" | "retry" | "uncertain", detail). Details never carry
    the URL (it may hold a token)."""
    import http.client
    import urllib.error
    import urllib.request

    # S310: build_request lets only http(s) URLs through, also after expanding ${VAR}s.
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
            text = response.read(65536)
    except urllib.error.HTTPError as exc:
        return "retry", f"HTTP {exc.code}"
    except urllib.error.URLError as exc:  # before the request was sent: nothing arrived
        reason = exc.reason
        return "retry", f"cannot connect: {getattr(reason, 'strerror', None) or reason}"
    except ValueError:
        return "retry", "the URL is not valid (check ${VAR}s in notify: url)"
    except (TimeoutError, ConnectionError, http.client.HTTPException, OSError) as exc:
        return "uncertain", f"no answer after sending: {type(exc).__name__}"
    problem = platform_error(fmt, text)
    if problem:
        return "retry", f"HTTP {status}, {problem}"
    return "sent", f"HTTP {status}"
