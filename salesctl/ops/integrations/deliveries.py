"""The intake's delivery log: each ``X-Salesctl-Delivery`` id's first answer, so a sender's
retry gets it back and nothing is written twice.

One small JSON file per delivery under ``.git/salesctl/deliveries/``, never committed; a
lead's commit carries its delivery id as a ``Salesctl-Delivery:`` trailer, so ``catch_up``
rebuilds the log in a fresh clone.

Ids are kept per endpoint (``/leads``, ``/payments``, ``/payments/stripe`` ...): each sender
picks its own ids ("1", "2", a date), so a web form's lead and a payment relay's payment may
well share one, and neither may be taken for the other's repeat. Files written before that
(named by the id alone, without ``endpoint``) are still read, for the endpoint of the record
kind they answered with, so an upgrade never applies an old delivery again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

from salesctl.atomic import write_atomic
from salesctl.git import Repo

DELIVERY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
KEEP_DELIVERIES_DAYS = 90
LEADS = "/leads"  # the endpoints that keep delivery ids, each its own
PAYMENTS = "/payments"  # and "/payments/<platform>"


class DeliveryLog:
    """(endpoint, delivery id) -> the first answer, one small file per delivery (never
    committed)."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.folder = repo.state_dir / "deliveries"
        self.folder.mkdir(exist_ok=True)

    def _path(self, endpoint: str, delivery: str) -> Path:
        return self._file(f"{endpoint}\n{delivery}")  # neither holds a newline

    def _file(self, key: str) -> Path:
        return self.folder / (hashlib.sha256(key.encode()).hexdigest()[:40] + ".json")

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def get(self, endpoint: str, delivery: str) -> dict[str, Any] | None:
        data = self._read(self._path(endpoint, delivery))
        if data and data.get("endpoint") == endpoint and data.get("delivery") == delivery:
            return data
        # a delivery remembered before ids were kept per endpoint: named by the id alone
        old = self._read(self._file(delivery))
        if old and "endpoint" not in old and old.get("delivery") == delivery:
            return old if _answered_by(endpoint, old.get("kind")) else None
        return None

    def put(self, endpoint: str, delivery: str, answer: dict[str, Any]) -> None:
        record = {"endpoint": endpoint, "delivery": delivery, **answer}
        write_atomic(self._path(endpoint, delivery), json.dumps(record, default=str).encode())

    def prune(self, keep_days: int = KEEP_DELIVERIES_DAYS) -> int:
        """Forget deliveries older than ``keep_days`` (senders retry for hours, not months;
        a lead sent again after that is still caught as a duplicate)."""
        limit = time.time() - keep_days * 86400
        removed = 0
        for path in self.folder.glob("*.json"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < limit:
                    path.unlink()
                    removed += 1
        return removed

    def catch_up(self) -> int:
        """Learn the deliveries in commits not seen yet (a fresh clone, a pull, a crash
        between a commit and its log entry) from their ``Salesctl-Delivery`` trailers (only
        ``/leads`` writes them)."""
        marker = self.folder / "HEAD"
        head = self.repo.head()
        if head is None:
            return 0
        seen = marker.read_text().strip() if marker.exists() else ""
        base = self.repo.run("merge-base", seen, head, check=False).strip() if seen else ""
        span = [f"{seen}..{head}"] if seen and base == seen else [head]  # else: all of it
        out = self.repo.run(
            "log",
            "--fixed-strings",
            "--grep=Salesctl-Delivery: ",
            "--format=%(trailers:key=Salesctl-Delivery,valueonly,separator=%x1f)%x1e"
            "%(trailers:key=Salesctl-Record,valueonly,separator=%x1f)%x1e"
            "%(trailers:key=Salesctl-Action,valueonly)%x1d",
            *span,
            check=False,
        )
        learned = 0
        for chunk in out.split("\x1d"):
            parts = chunk.strip().split("\x1e")
            if len(parts) != 3 or not parts[0].strip() or not parts[1].strip():
                continue
            delivery, record = parts[0].strip(), parts[1].split("\x1f")[0].strip()
            if DELIVERY_RE.match(delivery) and self.get(LEADS, delivery) is None:
                kind = "lead" if parts[2].strip().startswith("lead.") else "record"
                self.put(LEADS, delivery, {"id": record, "kind": kind, "duplicate": False})
                learned += 1
        write_atomic(marker, head.encode())
        return learned


def _answered_by(endpoint: str, kind: Any) -> bool:
    """Could ``endpoint`` have given an old, endpoint-less answer of this record ``kind``?
    (One of unknown kind is taken for any endpoint: never applied twice.)"""
    if kind in ("lead", "customer"):  # a lead made, or the duplicate it was taken for
        return endpoint == LEADS
    if kind == "payment":
        return endpoint.startswith(PAYMENTS)
    return True


def repeated(first: dict[str, Any]) -> dict[str, Any]:
    """A delivery's first answer, as the answer to its repeat."""
    answer = {k: v for k, v in first.items() if k not in ("delivery", "endpoint")}
    answer["repeated"] = True
    return answer
