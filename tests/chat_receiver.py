"""A stand-in chat platform for the notification tests: an HTTP server on 127.0.0.1 that
records every POST and answers as told (``mode``)."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Receiver:
    """``mode``: ok (200), error (500), errcode (200 with DingTalk's error code), drop (close
    without answering), slow (answer after ``delay`` seconds)."""

    def __init__(self, port: int = 0) -> None:
        self.messages: list[dict[str, Any]] = []
        self.mode = "ok"
        self.delay = 0.0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.messages.append(
                        {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                    )
                if receiver.mode == "drop":
                    self.close_connection = True
                    return
                if receiver.mode == "slow":
                    time.sleep(receiver.delay)
                status, answer = 200, {"errcode": 0, "errmsg": "ok"}
                if receiver.mode == "error":
                    status, answer = 500, {"error": "down for maintenance"}
                elif receiver.mode == "errcode":
                    answer = {"errcode": 310000, "errmsg": "keywords not in content"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The messages once there are ``count`` (or what came by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.messages)


def store_with_hook(tmp_path: Any, monkeypatch: Any, receiver: Receiver, hook: str) -> Any:
    """A test store (conftest's CONFIG) whose ``notify:`` is ``hook``, posting to
    ``receiver`` (``${HOOK_PORT}`` in its url), made the current store."""
    from conftest import CONFIG, make_store

    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("HOOK_PORT", str(receiver.port))
    root = make_store(tmp_path / "chat", CONFIG + hook)
    monkeypatch.setenv("SALESCTL_STORE", str(root))
    return root
