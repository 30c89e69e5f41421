"""salesctl and the outside world: leads and payments arriving by webhook (``intake``), and
chat notifications (``notify``, ``notify_formats``)."""
