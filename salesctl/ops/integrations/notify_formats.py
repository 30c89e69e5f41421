"""What a notification says, and the body each platform's incoming webhook wants.

Pure: no files, no network. ``ops.integrations.notify`` queues and sends; this module turns an event
into words (``describe``) and into a platform's JSON (``render``), and reads a platform's
error out of its answer (``platform_error``).

    slack     {"text": ...}                                      (mrkdwn; <@U123> mentions)
    dingtalk  {"msgtype": "markdown", "markdown": {"title", "text"}, "at": {...}}
    feishu    {"msg_type": "text", "content": {"text": ...}}     (<at user_id=...>)
    wecom     {"msgtype": "markdown", "markdown": {"content": ...}}   (<@userid>)
    generic   {"event", "id", "org", "commit", "text", "data", "mentions"}
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from salesctl.i18n import gettext_for
from salesctl.model.config import Config
from salesctl.model.integrations import Hook


def platform_error(fmt: str, text: bytes) -> str | None:
    """The error a platform reports inside a 200 answer (DingTalk/WeCom ``errcode``,
    Feishu ``code``), or None."""
    if fmt not in ("dingtalk", "wecom", "feishu"):
        return None
    try:
        answer = json.loads(text or b"{}")
    except ValueError:
        return None
    if not isinstance(answer, dict):
        return None
    for key, message in (("errcode", "errmsg"), ("code", "msg"), ("StatusCode", "StatusMessage")):
        code = answer.get(key)
        if code not in (None, 0, "0"):
            return f"{fmt} error {code}: {answer.get(message, '')}".strip()
    return None


def describe(config: Config, event: str, payload: dict[str, Any]) -> tuple[str, list[str]]:
    """A message's title and lines, in words a sales team reads, in the org's ``lang``."""
    _ = gettext_for(config.lang)
    currency = config.currency

    def who(member_id: Any) -> str:
        member = config.member(str(member_id)) if member_id else None
        return member.name if member else str(member_id or _("the pool"))

    def money(value: Any) -> str:
        try:
            return f"{Decimal(str(value)):,} {currency}"
        except (InvalidOperation, ValueError):
            return f"{value} {currency}"

    def clip(text: str) -> str:
        return f"{text[:500]}{'...' if len(text) > 500 else ''}"

    customer = payload.get("customer") or payload.get("customer_id") or "?"
    owner = _("Owner: {name}").format(name=who(payload.get("owner")))
    if payload.get("sealed"):  # an encrypted record: ids and members only (notify.redacted)
        return _sealed(_, event, payload, owner, who)
    if event == "deal.won":
        deal = payload.get("deal") or payload.get("id")
        return _("Deal won: {title}").format(title=payload.get("title") or deal), [
            f"{customer} · {money(payload.get('amount'))}",
            f"{owner} · {deal}",
        ]
    if event == "contract.signed":
        signed = _("signed {date}").format(date=payload.get("signed"))
        return _("Contract signed: {title}").format(title=payload.get("title")), [
            f"{customer} · {money(payload.get('amount'))} · {signed}",
            f"{owner} · {payload.get('contract')}",
        ]
    if event == "payment.received":
        return _("Payment received: {amount}").format(amount=money(payload.get("amount"))), [
            f"{payload.get('title')} · {customer} · {payload.get('date')}",
            _("Received {received}, outstanding {outstanding}").format(
                received=money(payload.get("received")),
                outstanding=money(payload.get("outstanding")),
            ),
            f"{owner} · {payload.get('contract')}",
        ]
    if event == "followup.mention":
        names = _(", ").join(who(m) for m in payload.get("mentions") or [])
        text = str(payload.get("text") or "")
        author = who(payload.get("author"))
        return _("{author} mentioned {names}").format(author=author, names=names), [
            _("On {record}: {text}").format(record=payload.get("record"), text=clip(text))
        ]
    if event == "competitor.note":
        text = str(payload.get("text") or "")
        author = who(payload.get("author"))
        if payload.get("deal"):
            author = _("{author} (deal {deal})").format(author=author, deal=payload["deal"])
        return _("Competitor intel: {competitor}").format(competitor=payload.get("competitor")), [
            f"{author}: {clip(text)}"
        ]
    if event == "feedback.received":
        source = payload.get("source")
        title = _("Feedback from {source}: {customer}").format(source=source, customer=customer)
        link = f" · {payload['link']}" if payload.get("link") else ""
        return title, [clip(str(payload.get("text") or "")), f"{owner} · {payload.get('id')}{link}"]
    if event == "test":
        return _("salesctl test message"), [
            _("{org}: notifications to this hook work.").format(org=config.org)
        ]
    return event, [json.dumps(payload, ensure_ascii=False, default=str)]


def _sealed(
    _: Any, event: str, payload: dict[str, Any], owner: str, who: Any
) -> tuple[str, list[str]]:
    record = str(
        payload.get("deal") or payload.get("contract") or payload.get("record") or payload.get("id")
    )
    titles = {
        "deal.won": _("Deal won: {title}").format(title=record),
        "contract.signed": _("Contract signed: {title}").format(title=record),
        "payment.received": _("Payment received: {amount}").format(amount=record),
    }
    if event == "followup.mention":
        names = _(", ").join(who(m) for m in payload.get("mentions") or [])
        title = _("{author} mentioned {names}").format(
            author=who(payload.get("author")), names=names
        )
        return title, [record]
    return titles.get(event, f"{event}: {record}"), [f"{owner} · {record}"]


def render(config: Config, hook: Hook, entry: dict[str, Any]) -> dict[str, Any]:
    """The JSON body in the hook's format (each platform's incoming-webhook shape)."""
    event, payload = str(entry["event"]), dict(entry.get("payload") or {})
    title, lines = describe(config, event, payload)
    mentioned = [  # (member id, name, platform user id) of those the hook can @mention
        (m, config.members[m].name, hook.users[m])
        for m in payload.get("mentions") or []
        if m in hook.users and m in config.members
    ]
    if hook.format == "slack":
        text = "\n".join([f"*{_slack(title)}*", *map(_slack, lines)])
        if mentioned:
            text += "\n" + " ".join(f"<@{uid}>" for _m, _name, uid in mentioned)
        return {"text": text}
    if hook.format == "dingtalk":
        text = "\n\n".join([f"#### {title}", *lines])
        body: dict[str, Any] = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        if mentioned:
            ids = [uid for _m, _name, uid in mentioned]
            body["markdown"]["text"] += "\n\n" + " ".join(f"@{uid}" for uid in ids)
            mobiles = [u for u in ids if u.lstrip("+").isdigit()]
            body["at"] = {
                "atMobiles": mobiles,
                "atUserIds": [u for u in ids if u not in mobiles],
                "isAtAll": False,
            }
        return body
    if hook.format == "feishu":
        text = "\n".join([title, *lines])
        text += "".join(f' <at user_id="{uid}">{name}</at>' for _m, name, uid in mentioned)
        return {"msg_type": "text", "content": {"text": text}}
    if hook.format == "wecom":
        content = "\n".join([f"**{title}**", *lines])
        content += "".join(f" <@{uid}>" for _m, _name, uid in mentioned)
        return {"msgtype": "markdown", "markdown": {"content": content}}
    return {
        "event": event,
        "id": entry["id"],
        "org": config.org,
        "commit": entry.get("commit"),
        "text": "\n".join([title, *lines]),
        "data": payload,
        "mentions": {m: uid for m, _name, uid in mentioned},
    }


def _slack(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
