"""What one client of ``salesctl serve`` may take: time, connections, bytes, and the JSON it
may send. ``serve.py`` applies these at the HTTP edge; nothing here touches the store.

uvicorn covers part of it: ``timeout_keep_alive`` (the idle timeout between requests),
``limit_concurrency`` (503 past the connection limit), ``h11_max_incomplete_event_size``
(the header size). It has no timeout for a connection that never sends a request and none
for a request's headers, so ``protocol`` adds both to its h11 protocol; the body's timeout
is the app's (``read_body``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import unicodedata
from contextlib import aclosing
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import h11
from starlette.requests import Request
from uvicorn.protocols.http.h11_impl import H11Protocol

from salesctl.model.values import not_utf8, printable

MAX_BODY = 64 * 1024
MAX_HEADERS = 16 * 1024
MAX_NESTING = 20  # a lead or a payment nests two levels; parsing deeper JSON is only cost

log = logging.getLogger("salesctl.serve")
# Characters a log line shows escaped: C0/C1 controls (ESC starts a terminal's colour, title
# and clear-screen sequences; CR and LF forge lines), format characters (bidi overrides),
# line and paragraph separators, and lone surrogates.
UNLOGGABLE = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def loggable(text: str, keep: str = "") -> str:
    """``text`` with what ``UNLOGGABLE`` names (but ``keep``) and backslashes escaped as in
    a Python string (``\\x1b``, ``\\u202e``, ``\\\\``): one line, that says what was sent."""
    return "".join(
        char
        if char in keep or (char != "\\" and unicodedata.category(char) not in UNLOGGABLE)
        else char.encode("unicode_escape").decode("ascii")
        for char in text
    )


class EscapedLines(logging.Filter):
    """Every record of the server's log escaped by ``loggable``: a request's path, a
    header or a body's text (``POST /leads%1b[31m``, unauthenticated) can neither drive the
    terminal that tails the log nor forge a line of it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        escaped = loggable(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        if record.exc_info and not record.exc_text:
            record.exc_text = loggable(logging.Formatter().formatException(record.exc_info), "\n")
        return True


log.addFilter(EscapedLines())


@dataclass(frozen=True)
class Limits:
    """The timeouts (seconds) and the connection limit: ``salesctl serve``'s options."""

    header_timeout: float = 10.0  # a request's first byte to the end of its headers
    body_timeout: float = 10.0  # the end of the headers to the end of the body
    idle_timeout: float = 5.0  # a connection with no request under way
    max_connections: int = 100  # open connections; past it, 503

    def uvicorn_settings(self) -> dict[str, Any]:
        return {
            "http": protocol(self.header_timeout),
            "timeout_keep_alive": self.idle_timeout,
            "limit_concurrency": self.max_connections,
            "h11_max_incomplete_event_size": MAX_HEADERS,
        }


def log_refusal(method: str, path: str, status: int | str, client: str, reason: str) -> None:
    """The one log line a refused request gets (never a traceback: the client is at fault)."""
    log.warning("refused %s %s %s from %s: %s", method, path, status, client, reason)


def client_of(address: Any) -> str:
    return f"{address[0]}:{address[1]}" if address else "-"


def protocol(header_timeout: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the timeouts it lacks: a new connection that sends
    nothing is idle (closed after ``timeout_keep_alive``, as between requests), and once a
    request's first byte is in, its headers must be complete within ``header_timeout``."""

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            waiting = self.conn.their_state is h11.IDLE and not self.transport.is_closing()
            if waiting and self._header_timer is None:
                self._header_timer = self.loop.call_later(header_timeout, self._headers_late)
            elif not waiting:
                self._stop_header_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # We answered before the body ended (413, 408, 415, 404 ...): waiting for the
            # rest would let the client trickle bytes and hold the connection forever.
            if self.conn.their_state is h11.SEND_BODY and not self.transport.is_closing():
                self.transport.close()

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_header_timer()
            super().connection_lost(exc)

        def _stop_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def send_400_response(self, msg: str) -> None:
            reason = f"not an HTTP/1.1 request (or headers over {MAX_HEADERS // 1024} KB)"
            log_refusal("-", "-", 400, client_of(self.client), reason)
            super().send_400_response(msg)

        def _headers_late(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                reason = f"the request's headers did not arrive within {header_timeout:g} s"
                log_refusal("-", "-", "-", client_of(self.client), reason)
                self.transport.close()

    # send_400_response logs it with the client instead
    logging.getLogger("uvicorn.error").addFilter(_drop_uvicorn_invalid_request)
    return GuardedH11Protocol


def _drop_uvicorn_invalid_request(record: logging.LogRecord) -> bool:
    return record.getMessage() != "Invalid HTTP request received."


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, timeout: float) -> bytes:
    """The request's body, up to ``MAX_BODY`` (else ``BodyTooLarge``), all of it within
    ``timeout`` seconds (else ``TimeoutError``); a client gone midway raises starlette's
    ``ClientDisconnect``."""
    body = bytearray()
    async with asyncio.timeout(timeout), aclosing(request.stream()) as chunks:
        async for chunk in chunks:
            body += chunk
            if len(body) > MAX_BODY:
                raise BodyTooLarge
    return bytes(body)


class BadJSON(ValueError):
    """The body is not JSON salesctl can take; ``fields`` names bad strings by their path."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


def decode_json(body: bytes) -> Any:
    """The body as JSON (numbers with a point as ``Decimal``): strict UTF-8, no NaN or
    Infinity, no name twice in an object, nested at most ``MAX_NESTING`` deep, and no lone
    surrogate (``"\\ud800"``) in a string or a name, as no YAML file or commit can hold one."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadJSON(f"the body is not UTF-8 (byte {exc.start}: {exc.reason})") from None
    try:
        data = json.loads(
            text, parse_float=Decimal, parse_constant=_no_constant, object_pairs_hook=_unique
        )
    except RecursionError:
        raise BadJSON(f"the JSON nests deeper than {MAX_NESTING} levels") from None
    except ValueError as exc:
        raise BadJSON(f"the body is not valid JSON: {exc}") from None
    fields = _bad_strings(data)
    if fields:
        shown = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
        raise BadJSON(f"the JSON has text that is not Unicode: {shown}", fields)
    return data


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose names are unique: with ``{"owner": "a", "owner": "b"}`` a reader
    (a log, a proxy, a person) may see another owner than the one that would be taken."""
    data = dict(pairs)
    if len(data) < len(pairs):
        seen: set[str] = set()
        for name, _value in pairs:
            if name in seen:
                raise ValueError(f"the name {name!r} appears twice in one object")
            seen.add(name)
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bad_strings(data: Any) -> dict[str, str]:
    """Each string or name holding a lone surrogate, by its path (``tags[1]``,
    ``custom.region``); ``BadJSON`` if the JSON nests too deep. Iterative: the nesting
    is the client's to choose."""
    problems: dict[str, str] = {}
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            problem = not_utf8(value)
            if problem:
                problems[path or "(body)"] = f"has a {problem}; send real text"
            continue
        if not isinstance(value, dict | list):
            continue
        if depth >= MAX_NESTING:
            raise BadJSON(f"the JSON nests deeper than {MAX_NESTING} levels")
        if isinstance(value, list):
            stack.extend((f"{path}[{i}]", item, depth + 1) for i, item in enumerate(value))
            continue
        for key, item in value.items():
            name = f"{path}.{printable(key)}" if path else printable(key)
            problem = not_utf8(key)
            if problem:
                problems[name] = f"the name has a {problem}; send real text"
            stack.append((name, item, depth + 1))
    return problems
