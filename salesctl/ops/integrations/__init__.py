"""salesctl and the outside world: leads and payments arriving by webhook (``intake``;
``platforms`` for the payment platforms' own events), and chat notifications (``notify``,
``notify_formats``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from salesctl.store.store import Store, Transaction


def announce(store: Store, tx: Transaction) -> None:
    """After a commit: queue its business events for the chat hooks and retry what earlier
    commands left waiting (``notify``), importing nothing when there is nothing to say.
    The CLI and ``serve`` register it with ``store.on_commit``."""
    outbox = store.repo.git_dir / "salesctl" / "outbox" / "pending"
    if not tx.events and next(outbox.glob("*.json"), None) is None:
        return
    from salesctl.ops.integrations import notify

    notify.after_commit(store, tx)
