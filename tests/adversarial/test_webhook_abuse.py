"""``salesctl serve`` under abuse: one real server process (``salesctl serve`` on an ephemeral
loopback port, its timeouts set to 1 s), raw sockets. Bad JSON (deeply nested, lone
surrogates, not UTF-8) is 400 with a JSON answer; bodies over the limit are 413 however the
length is (not) announced; slow headers and bodies are cut off, idle connections closed,
while others are served; each refused request logs one line naming its client, and client
behaviour never puts a traceback in the log."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import CONFIG, ROOT, git, make_store

SECRET = "abuse-secret-0123456789abcdef"
TIMEOUT = 1.0  # the server's header, body and idle timeouts here
WAIT = TIMEOUT + 4.0  # how long a client waits at most for the server to act on one
MAX_BODY = 64 * 1024
SERVE_CONFIG = CONFIG.replace(
    "members:\n",
    "members:\n  - {id: intake, name: Intake Bot, email: intake@acme.example, role: intake}\n",
) + ("roles:\n  intake: {scope: all, actions: [lead.add, contract.pay]}\n")


@dataclass
class Server:
    root: Path
    port: int
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)  # its log (stdout and stderr), as it comes
    test_start: int = 0  # where the current test's part of ``lines`` starts

    def log(self) -> str:
        return "".join(self.lines)

    def lines_about(self, client: str) -> list[str]:
        """The log lines of this test naming ``client`` (ip:port) as the one refused."""
        return [line for line in self.lines[self.test_start :] if f" from {client}:" in line]

    def wait_for(self, check: Callable[[], bool], timeout: float = WAIT) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.02)
        return check()

    def fence(self) -> None:
        """Return once everything the server logged before now is in ``lines``: a refused
        request of our own (its log line comes after the earlier ones)."""
        path = f"/fence-{uuid.uuid4().hex}"
        request = f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        status, _, _ = exchange(self.port, request.encode())
        assert status == 404
        assert self.wait_for(lambda: any(path in line for line in list(self.lines)))


def commits(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("abuse")
    home = base / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESCTL_")}
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        SALESCTL_NOW="2026-11-20T10:00:00+08:00",
        SALESCTL_WEBHOOK_SECRET=SECRET,
        PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        no_proxy="127.0.0.1,localhost",
    )
    with pytest.MonkeyPatch.context() as patch:
        for name in ("HOME", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL"):
            patch.setenv(name, env[name])
        root = make_store(base / "store", SERVE_CONFIG)
    env["SALESCTL_STORE"] = str(root)
    env["SALESCTL_SERVE_IDLE_TIMEOUT"] = str(TIMEOUT)  # an option's environment variable
    command = [sys.executable, "-m", "salesctl", "--as", "intake", "serve", "--port", "0"]
    command += ["--header-timeout", str(TIMEOUT), "--body-timeout", str(TIMEOUT)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []

    def read_log() -> None:
        for line in process.stdout or ():
            lines.append(line)

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    try:
        running = Server(root, 0, process, lines)
        started = re.compile(r"running on http://127\.0\.0\.1:(\d+)")  # uvicorn says the port
        assert running.wait_for(
            lambda: process.poll() is not None or any(started.search(x) for x in list(lines)),
            timeout=30,
        )
        found = [m for m in map(started.search, list(lines)) if m]
        assert found, running.log()
        running.port = int(found[0].group(1))
        yield running
        assert "Traceback" not in running.log()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        reader.join(timeout=5)


@pytest.fixture(autouse=True)
def no_traceback(server: Server) -> Iterator[None]:
    server.test_start = len(server.lines)
    yield
    assert "Traceback" not in "".join(server.lines[server.test_start :])


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    return sock


def address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"{host}:{port}"


def read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes the connection (a timeout fails the test)."""
    data = bytearray()
    while chunk := sock.recv(65536):
        data += chunk
    return bytes(data)


def parse(raw: bytes) -> tuple[int, Any]:
    """(status, JSON answer or None) of the first response in ``raw``."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = re.search(rb"(?im)^content-length: *(\d+)", head)
    body = body[: int(length.group(1))] if length else body
    return status, json.loads(body) if body.startswith(b"{") else None


def exchange(port: int, raw: bytes) -> tuple[int, Any, str]:
    """Send ``raw`` (saying Connection: close) on a new connection, read until the server
    closes it: (status, JSON answer, client address)."""
    with connect(port) as sock:
        client = address(sock)
        sock.sendall(raw)
        status, answer = parse(read_all(sock))
    return status, answer, client


def head(path: str, body_length: int | None, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines.append("Content-Type: application/json")
    if body_length is not None:
        lines.append(f"Content-Length: {body_length}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def signed(body: bytes, path: str = "/leads") -> bytes:
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return head(path, len(body), X_Salesctl_Signature=signature) + body


def post(server: Server, payload: Any) -> tuple[int, Any, str]:
    return exchange(server.port, signed(json.dumps(payload).encode()))


def refused_once(server: Server, client: str, status: int | str) -> None:
    """The server logged exactly one line about ``client``, a refusal with ``status``."""
    assert server.wait_for(lambda: server.lines_about(client) != [])
    server.fence()
    lines = server.lines_about(client)
    assert len(lines) == 1, lines
    assert re.search(rf"refused (POST /leads|- -) {status} from {client}: ", lines[0]), lines


def test_deeply_nested_json_is_400_naming_the_problem(server: Server) -> None:
    before = commits(server.root)
    region: list[Any] = []
    for _ in range(20):  # 21 lists in custom.region: 23 levels, within Python's limits
        region = [region]
    bodies = [
        b"[" * 30000 + b"]" * 30000,  # deeper than Python's recursion limit
        b'{"company": ' * 5000 + b'"X"' + b"}" * 5000,
        json.dumps({"company": "Deep", "custom": {"region": region}}).encode(),
    ]
    for body in bodies:
        status, answer, client = exchange(server.port, signed(body))
        assert status == 400 and isinstance(answer, dict), (status, answer)
        assert "nests deeper" in answer["error"]
        refused_once(server, client, 400)
    assert commits(server.root) == before
    assert post(server, {"company": "Shallow Ltd"})[0] == 201  # and it still serves
    assert "Traceback" not in server.log()


def test_a_lone_surrogate_is_400_naming_the_field(server: Server) -> None:
    before = commits(server.root)
    cases = {
        '{"company": "Sur \\ud800"}': "company",
        '{"company": "Tagged", "tags": ["ok", "\\udc00 low"]}': "tags[1]",
        '{"company": "Custom", "custom": {"region": "\\udfff"}}': "custom.region",
        '{"company": "Named", "\\ud83d": "x"}': "\\ud83d",
    }
    for body, name in cases.items():
        status, answer, client = exchange(server.port, signed(body.encode()))
        assert status == 400 and isinstance(answer, dict), (body, status, answer)
        assert list(answer["fields"]) == [name], answer
        refused_once(server, client, 400)
    assert commits(server.root) == before
    paired = post(server, {"company": "Emoji \U0001f600 Ltd"})  # a real pair is fine
    assert paired[0] == 201


def test_a_body_that_is_not_strict_utf8_json_is_400(server: Server) -> None:
    before = commits(server.root)
    bodies = [
        b'{"company": "\xff\xfe"}',
        b'{"company": "\xed\xa0\x80"}',  # a surrogate encoded as if it were UTF-8
        '{"company": "UTF-16 Ltd"}'.encode("utf-16"),
        b'{"company": "Nan", "notes": NaN}',
    ]
    for body in bodies:
        status, answer, client = exchange(server.port, signed(body))
        assert status == 400 and isinstance(answer, dict) and answer["error"], (body, answer)
        refused_once(server, client, 400)
    assert commits(server.root) == before


def test_a_body_over_the_limit_is_413_however_its_length_is_given(server: Server) -> None:
    over = b"x" * (MAX_BODY + 1)
    chunk = f"{len(over):x}\r\n".encode() + over  # then stall: no end of the chunk
    requests = [
        head("/leads", MAX_BODY + 1),  # announced: refused before any of the body is sent
        head("/leads", None, Transfer_Encoding="chunked") + chunk,  # no length at all
        head("/leads", 10, Transfer_Encoding="chunked") + chunk,  # a length that lies
    ]
    for raw in requests:
        with connect(server.port) as sock:
            client = address(sock)
            sock.sendall(raw)
            answer = read_all(sock)  # the server answers and closes: it reads no more
        assert parse(answer)[0] == 413, answer[:200]
        refused_once(server, client, 413)


def test_headers_over_the_limit_or_not_http_are_refused(server: Server) -> None:
    big = head("/leads", 2, X_Big="a" * 20000) + b"{}"
    # 400 from h11 if the headers come in pieces, else 431 from the app
    for raw, statuses in ((big, {400, 431}), (b"NOT HTTP AT ALL\r\n\r\n", {400})):
        with connect(server.port) as sock:
            client = address(sock)
            sock.sendall(raw)
            status = parse(read_all(sock))[0]
        assert status in statuses
        refused_once(server, client, status)


def test_slow_bodies_are_cut_off_while_others_are_served(server: Server) -> None:
    stalled = [connect(server.port) for _ in range(40)]
    try:
        for sock in stalled:
            sock.sendall(head("/leads", 1000) + b'{"company": "Slow')
        assert post(server, {"company": "Meanwhile Ltd"})[0] == 201  # served meanwhile
        answers = [parse(read_all(sock))[0] for sock in stalled]  # closed by the server
        assert answers == [408] * 40
        assert server.wait_for(lambda: all(server.lines_about(address(s)) for s in stalled))
        for sock in stalled:
            refused_once(server, address(sock), 408)
    finally:
        for sock in stalled:
            sock.close()
    assert post(server, {"company": "Afterwards Ltd"})[0] == 201


def test_slow_headers_are_cut_off(server: Server) -> None:
    stalled = [connect(server.port) for _ in range(10)]
    try:
        for sock in stalled:
            sock.sendall(b"POST /leads HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        assert post(server, {"company": "Headers Meanwhile Ltd"})[0] == 201
        assert [read_all(sock) for sock in stalled] == [b""] * 10  # closed, no answer
        for sock in stalled:
            refused_once(server, address(sock), "-")
    finally:
        for sock in stalled:
            sock.close()


def test_idle_connections_are_closed(server: Server) -> None:
    with connect(server.port) as silent, connect(server.port) as kept:
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # keep-alive
        answer = kept.recv(65536)
        while b"}" not in answer:  # the headers and the body may come apart
            answer += kept.recv(65536)
        assert parse(answer) == (200, {"status": "ok"})
        assert read_all(kept) == b""  # then closed once idle
        assert read_all(silent) == b""  # a connection that never sends a request, too


def test_a_client_leaving_mid_body_logs_one_line_and_no_traceback(server: Server) -> None:
    with connect(server.port) as sock:
        client = address(sock)
        sock.sendall(head("/leads", 1000) + b'{"company": "Gone')
        time.sleep(0.2)  # let the server start reading the body
    refused_once(server, client, "-")
    assert "Traceback" not in server.log()
