"""The facts of a period, computed from the index with SQL, exact to the cent.

Every figure here is defined once, so a report, ``stats`` and an OKR key result linked to
a metric always agree:

- ``new_leads``: leads created in the period, by current owner
- ``followups``: follow-ups the member authored, dated in the period
- ``visits``: visits the member made (status done), dated in the period
- ``leads_converted``: leads whose ``stages.converted`` date is in the period, by owner
- ``deals_won`` / ``deals_lost``: deals that entered the won / lost stage in the period (one
  reopened since as well: a past period's figure does not change)
- ``contracts_signed`` / ``contract_amount``: contracts signed in the period (not drafts or
  cancelled ones) and the sum of their amounts
- ``payments_received``: payments dated in the period on the member's contracts
- ``outstanding``: what the member's signed contracts still had to receive at the period's end

SQLite does the filtering and the grouping; money is summed there as integer cents (see
``cents``), so only a handful of rows reach Python. Every figure reads ``valid_records``
(the index's records without problems): a broken or half-valid record, say a plan
instalment without its amount, counts nowhere, and ``Facts.skipped`` names it for a
warning, so one hand-broken file never stops a report. A ``Facts`` remembers what it computed,
so a report that needs one figure several times (totals, trend, OKRs) queries it once.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sqlite3
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby
from typing import Any

from salesctl.model.config import Config
from salesctl.reports.money import (
    OpenInstalment,
    aging,
    decimal,
    default_plan,
    open_instalments,
)
from salesctl.reports.periods import Period
from salesctl.store.index import Index, within_sql
from salesctl.store.index_schema import cents
from salesctl.store.layout import TRIAGE_DIR

COUNT_METRICS = (
    "new_leads",
    "followups",
    "visits",
    "leads_converted",
    "deals_won",
    "deals_lost",
    "contracts_signed",
)
AMOUNT_METRICS = ("contract_amount", "payments_received", "outstanding")
METRICS = COUNT_METRICS + AMOUNT_METRICS
# A contract that counts on a day (the next parameter): signed, and not cancelled by then
# (one cancelled before contracts kept the day counts nowhere). On the side table of
# contract terms (index_schema.CONTRACT_ROWS: status and cancelled are '' when absent).
LIVE_TERMS = "status != 'draft' AND (status != 'cancelled' OR cancelled > ?)"
# The day a record entered its current stage (an expression index on it must read the same).
STAGE_DAY = "json_extract(data, '$.stages.' || json_extract(data, '$.stage'))"
AMOUNT = "json_extract(data, '$.amount')"


def paid_by(contract: str) -> str:
    """SQL for what was paid on the contract row ``contract`` (an alias) up to the day in
    the next parameter, in cents (NULL if nothing was). ``+p.kind``: look the payments up
    by their contract, never through every payment by date."""
    payment = cents("json_extract(p.data, '$.amount')")
    return (
        f"(SELECT sum({payment}) FROM valid_records AS p WHERE p.parent = {contract}.id "
        "AND +p.kind = 'payment' AND json_extract(p.data, '$.date') <= ?)"
    )


def from_cents(value: int | None) -> Decimal:
    """An SQL sum of cents as an amount (NULL, the sum of nothing: 0)."""
    return Decimal(value or 0).scaleb(-2)


def in_list(column: str, values: Iterable[str]) -> tuple[str, list[Any]]:
    """``column IN (values)`` as one parameter, however many values there are."""
    return f"{column} IN (SELECT value FROM json_each(?))", [json.dumps(sorted(values))]


@dataclass(frozen=True)
class Receivable:
    """A signed contract with money still to receive on some day: its unpaid instalments."""

    contract: str
    owner: str
    team: str | None
    customer: str | None
    title: str | None
    items: tuple[OpenInstalment, ...]


class Facts:
    """Queries over one store's index for reports, stats and OKR metrics; ``within``
    names the directories the caller reads (the index looks only there for changes)."""

    def __init__(self, index: Index, config: Config, *, within: Iterable[str] = ()) -> None:
        self.index = index
        self.config = config
        self.within = tuple(within)
        # With no such stage configured nothing counts as won/lost ("" matches no record).
        self.won, self.lost = config.won_stage or "", config.lost_stage or ""
        self._metrics: dict[tuple[str, dt.date, dt.date], dict[str, Any]] = {}
        self._open: dict[tuple[dt.date, frozenset[str] | None], list[Receivable]] = {}
        self.kinds_read: set[str] = set()

    def query(self, sql: str, args: Sequence[Any], kinds: Iterable[str]) -> sqlite3.Cursor:
        kinds = tuple(kinds)
        self.kinds_read.update(kinds)
        return self.index.execute(sql, args, kinds=kinds, within=self.within)

    def skipped(self, where: str = "", args: Sequence[Any] = ()) -> list[str]:
        """ "path: problem" of each record of the kinds read so far (under ``within``, and
        matching SQL ``where``, e.g. the viewer's scope) that the figures left out."""
        if not self.kinds_read:
            return []
        kind_in, values = in_list("kind", self.kinds_read)
        sql = (
            f"SELECT path, problems FROM records WHERE {kind_in} "
            "AND (problems IS NOT NULL OR data IS NULL)"
        )
        # ``+path``: through the lookup of broken records (few), not the directories' many
        within, within_args = within_sql(self.within, "+path")
        sql += "".join(f" AND ({c})" for c in (within, where) if c)
        rows = self.index.db.execute(f"{sql} ORDER BY +path", [*values, *within_args, *args])
        return [f"{path}: {_first_problem(problems)}" for path, problems in rows]

    # -- metrics ------------------------------------------------------------------------------

    def metric(
        self, name: str, period: Period, owners: Collection[str] | None = None
    ) -> dict[str, Any]:
        """{member id: value} of one metric over one period (only ``owners``', if given)."""
        if name == "outstanding":
            values = self._outstanding(period.end, owners)
        else:
            key = (name, period.start, period.end)
            if key not in self._metrics:
                for each, found in self._compute(name, period).items():
                    self._metrics[(each, period.start, period.end)] = found
            values = self._metrics[key]
        return {k: v for k, v in values.items() if owners is None or k in owners}

    def _compute(self, name: str, period: Period) -> dict[str, dict[str, Any]]:
        """{metric: values} for ``name`` and any other metric its query also yields."""
        span = (period.start.isoformat(), period.end.isoformat())
        date_in = "BETWEEN ? AND ?"
        if name == "new_leads":
            sql = (
                "SELECT owner, count(*) FROM valid_records WHERE kind = 'lead' "
                f"AND json_extract(data, '$.created') {date_in} GROUP BY owner"
            )
            return {name: self._counts(sql, span, "lead")}
        if name in ("followups", "visits"):
            kind = name[:-1]
            done = "" if kind == "followup" else "AND status = 'done'"
            # the side table of valid follow-ups and visits (index_schema.ACTIVITY_ROWS)
            sql = (
                f"SELECT author, count(*) FROM activities WHERE kind = ? {done} "
                f"AND day {date_in} GROUP BY 1"
            )
            return {name: self._counts(sql, (kind, *span), kind)}
        if name in ("leads_converted", "deals_won", "deals_lost"):
            kind, stage = {
                "leads_converted": ("lead", "converted"),
                "deals_won": ("deal", self.won),
                "deals_lost": ("deal", self.lost),
            }[name]
            # records that entered the stage in the period and are in it now, or were until
            # a reopening (``current`` NULL: index_schema.STAGE_ROWS), each once
            sql = (
                "SELECT owner, count(DISTINCT id) FROM stage_entries WHERE kind = ? "
                f"AND stage = ? AND current IS NOT 0 AND day {date_in} GROUP BY owner"
            )
            return {name: self._counts(sql, (kind, stage, *span), kind)}
        if name in ("contracts_signed", "contract_amount"):
            # the side table of valid contracts' terms (index_schema.CONTRACT_ROWS)
            sql = (
                "SELECT owner, count(*), sum(cents) FROM contract_terms "
                f"WHERE {LIVE_TERMS} AND signed {date_in} GROUP BY owner"
            )
            args = (span[1], *span)
            rows = [(str(k), n, c) for k, n, c in self.query(sql, args, ["contract"]) if k]
            return {
                "contracts_signed": {k: int(n) for k, n, _c in rows},
                "contract_amount": {k: from_cents(c) for k, _n, c in rows},
            }
        if name == "payments_received":
            sql = (
                f"SELECT owner, sum({cents(AMOUNT)}) FROM valid_records WHERE kind = 'payment' "
                f"AND json_extract(data, '$.date') {date_in} GROUP BY owner"
            )
            paid = self.query(sql, span, ["payment"])
            return {name: {str(k): from_cents(c) for k, c in paid if k}}
        raise KeyError(name)

    def _counts(self, sql: str, args: Sequence[Any], kind: str) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.query(sql, args, [kind]) if k}

    def _outstanding(self, as_of: dt.date, owners: Collection[str] | None) -> dict[str, Decimal]:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for receivable in self.receivables(as_of, owners):
            totals[receivable.owner] += sum((i.amount for i in receivable.items), Decimal(0))
        return dict(totals)

    def member_facts(self, period: Period, members: Sequence[str]) -> list[dict[str, Any]]:
        values = {name: self.metric(name, period, members) for name in METRICS}
        rows = []
        for member in members:
            row: dict[str, Any] = {"member": member}
            for name in COUNT_METRICS:
                row[name] = values[name].get(member, 0)
            for name in AMOUNT_METRICS:
                row[name] = values[name].get(member, Decimal(0))
            rows.append(row)
        return rows

    # -- receivables --------------------------------------------------------------------------

    def receivables(
        self,
        as_of: dt.date,
        owners: Collection[str] | None = None,
        *,
        where: str = "",
        args: Sequence[Any] = (),
    ) -> list[Receivable]:
        """Contracts signed by ``as_of`` (not drafts or cancelled ones) that still had money
        to receive that day, in id order: payments dated up to it settle the plan's earliest
        instalments first. Only ``owners``' contracts, and those matching SQL ``where``."""
        key = (as_of, None if owners is None else frozenset(owners))
        if not where and key in self._open:
            return self._open[key]
        day = as_of.isoformat()
        # Given owners, find their contracts by owner: fewer than all those signed by then.
        # The side tables (index_schema.CONTRACT_ROWS, PAYMENT_ROWS, INSTALMENT_ROWS) hold
        # the terms, payments and instalments of valid records as plain columns.
        signed = f"{'' if owners is None else '+'}signed <= ?"
        conditions = [signed, LIVE_TERMS, "owner IS NOT NULL"]
        params: list[Any] = [day, day, day]  # the payments', the signing's, the cancelling's
        if owners is not None:
            owner_in, values = in_list("owner", owners)
            conditions.append(owner_in)
            params += values
        if where:
            conditions.append(f"({where})")
            params += args
        # Each contract's instalments in the order payments settle them (``money.settle``:
        # earliest due first), in cents.
        sql = (
            "WITH c AS MATERIALIZED (SELECT path, id, owner, team, customer, title, "
            "coalesce((SELECT sum(p.cents) FROM payment_figures AS p WHERE p.parent = c.id "
            "AND p.day <= ?), 0) AS paid FROM contract_terms AS c "
            f"WHERE {' AND '.join(conditions)}) "
            "SELECT c.id, c.owner, c.team, c.customer, c.title, c.paid, i.due, i.cents "
            "FROM c JOIN instalments AS i ON i.path = c.path ORDER BY c.id, i.due, i.cents"
        )
        result: list[Receivable] = []
        rows = self.query(sql, params, ["contract", "payment"])
        for (contract_id, owner, team, customer, title, paid), group in groupby(rows, _contract):
            schedule = [(due, cents) for *_, due, cents in group]
            items = _open_in_cents(schedule, paid)
            if items is None:  # an amount or day that is no plain number or text: the exact way
                items = self._open_exactly(contract_id, day)
            if items:
                result.append(Receivable(contract_id, owner, team, customer, title, tuple(items)))
        if not where:
            self._open[key] = result
        return result

    def _open_exactly(self, contract_id: str, day: str) -> list[OpenInstalment]:
        """A contract's open instalments on ``day``, in Decimal from its plan."""
        sql = (
            "SELECT json_extract(data, '$.plan'), json_extract(data, '$.amount'), "
            f"json_extract(data, '$.signed'), {paid_by('c')} FROM valid_records AS c WHERE id = ?"
        )
        plan, amount, signed, paid_cents = self.query(sql, [day, contract_id], []).fetchone()
        schedule = _plan(plan, decimal(amount), dt.date.fromisoformat(signed))
        return open_instalments(schedule, from_cents(paid_cents))

    def aging_at(self, as_of: dt.date, owners: Collection[str]) -> dict[str, Decimal]:
        items = [i for r in self.receivables(as_of, owners) for i in r.items]
        return aging(items, as_of)

    # -- deals ----------------------------------------------------------------------------------

    def stage_totals(
        self, where: str = "", args: Sequence[Any] = (), as_of: dt.date | None = None
    ) -> dict[str, tuple[int, Decimal]]:
        """(count, amount) of the deals in each stage, of those matching SQL ``where``; with
        ``as_of``, the stage each deal was in at the end of that day, from the dates in its
        ``stages`` (the latest entered by then; deals opened after it are left out), so a
        past period's pipeline does not change as deals move on."""
        scope = f" AND ({where})" if where else ""
        if as_of is None:
            # the side table of valid deals' stages and cents (index_schema.DEAL_ROWS)
            sql = (
                "SELECT stage, count(*), sum(cents) FROM deal_figures "
                f"WHERE 1{scope} GROUP BY stage"
            )
            rows = self.query(sql, args, ["deal"])
        else:
            # the latest entry by then; of one day's, the last in the file
            then = (
                "(SELECT s.stage FROM stage_entries AS s WHERE s.path = valid_records.path "
                "AND s.day <= ? ORDER BY s.day DESC, s.seq DESC LIMIT 1)"
            )
            sql = (
                f"SELECT stage, count(*), sum(amount) FROM (SELECT {then} AS stage, "
                f"{cents(AMOUNT)} AS amount FROM valid_records WHERE kind = 'deal'{scope}) "
                "WHERE stage IS NOT NULL GROUP BY stage"
            )
            rows = self.query(sql, [as_of.isoformat(), *args], ["deal"])
        return {stage: (int(n), from_cents(c)) for stage, n, c in rows}

    def stage_entries(self, kind: str, period: Period, owners: Collection[str]) -> dict[str, int]:
        """How many of ``owners``' records of ``kind`` entered each stage in the period, in
        the order the stages first appear (records by id, each one's stages in its order)."""
        member_in, values = in_list("owner", owners)
        # the side table of valid records' stage entries (index_schema.STAGE_ROWS)
        sql = (
            "SELECT stage, count(*) FROM ("
            "SELECT stage, row_number() OVER (ORDER BY id, seq) AS seen FROM stage_entries "
            f"WHERE kind = ? AND {member_in} AND day BETWEEN ? AND ?) "
            "GROUP BY stage ORDER BY min(seen)"
        )
        args = [kind, *values, period.start.isoformat(), period.end.isoformat()]
        return {stage: int(n) for stage, n in self.query(sql, args, [kind])}

    def closed_deals(self, period: Period, owners: Collection[str]) -> list[tuple[Any, ...]]:
        """(id, owner, title, amount, stage, day, reason, lost_to, customer) of ``owners``'
        deals that were won or lost in the period (a reopened one as it was then)."""
        return self._decided_deals(
            f"id, owner, json_extract(data, '$.title'), {AMOUNT}, stage, day, reason, "
            "lost_to, json_extract(data, '$.customer')",
            period,
            owners,
        )

    def competitors_met(self, period: Period, owners: Collection[str]) -> list[tuple[Any, ...]]:
        """(competitors JSON, stage, lost_to) of ``owners``' deals won or lost in the period."""
        return self._decided_deals(
            "json_extract(data, '$.competitors'), stage, lost_to", period, owners
        )

    def _decided_deals(
        self, columns: str, period: Period, owners: Collection[str]
    ) -> list[tuple[Any, ...]]:
        """``columns`` of (id, owner, data, stage, day, reason, lost_to) of each deal won or
        lost in the period: those won or lost now, and (their ``earlier_stages``, which the
        side table of stage entries holds with ``current`` NULL) those reopened since."""
        member_in, values = in_list("+owner", owners)  # ``+``: by the stage lookup
        now = (
            f"SELECT id, owner, data, json_extract(data, '$.stage') AS stage, {STAGE_DAY} AS day, "
            "json_extract(data, '$.reason') AS reason, json_extract(data, '$.lost_to') AS lost_to "
            "FROM valid_records WHERE kind = 'deal' AND json_extract(data, '$.stage') IN (?, ?) "
            f"AND {STAGE_DAY} BETWEEN ? AND ? AND {member_in}"
        )
        # the entry itself: its ``seq`` is its place from the end of the list (-1: the last)
        entry = "json_extract(r.data, '$.earlier_stages[#' || s.seq || '].{}')"
        then = (
            "SELECT r.id, r.owner, r.data, s.stage, s.day, "
            f"{entry.format('reason')}, {entry.format('lost_to')} "
            "FROM stage_entries AS s JOIN valid_records AS r ON r.path = s.path "
            "WHERE s.kind = 'deal' AND s.stage IN (?, ?) AND s.day BETWEEN ? AND ? "
            f"AND s.current IS NULL AND {member_in.replace('+owner', 's.owner')}"
        )
        sql = f"SELECT {columns} FROM ({now} UNION ALL {then}) ORDER BY id, day"
        span = (period.start.isoformat(), period.end.isoformat())
        args = [self.won, self.lost, *span, *values]
        return list(self.query(sql, [*args, *args], ["deal"]))

    def feedback_counts(
        self, period: Period, owners: Collection[str], *, triage: bool = False
    ) -> list[tuple[Any, ...]]:
        """(owner, received, closed) of the feedback of ``owners``' customers in the period;
        with ``triage``, also of the feedback no customer matched yet, waiting in the
        company's ``feedback/`` (owner None): one query either way."""
        member_in, values = in_list("owner", owners)
        if triage:  # company-level rows under feedback/ (as ``scopes.Grants.sql`` hides them)
            company = "owner IS NULL AND team IS NULL AND pool = 0 AND path > ? AND path < ?"
            member_in = f"({member_in} OR ({company}))"
            values += [TRIAGE_DIR + "/", TRIAGE_DIR + "0"]  # '0': the character after '/'
        day = "substr(json_extract(data, '$.{}'), 1, 10) BETWEEN ? AND ?"
        sql = (
            f"SELECT owner, sum({day.format('received')}), sum({day.format('closed')}) "
            f"FROM valid_records WHERE kind = 'feedback' AND {member_in} GROUP BY owner"
        )
        span = [period.start.isoformat(), period.end.isoformat()]
        return list(self.query(sql, [*span, *span, *values], ["feedback"]))

    def sums_by_contract(self, kind: str, as_of: dt.date) -> dict[str, Decimal]:
        """{contract id: total} of its payments or invoices (``kind``) dated up to ``as_of``."""
        sql = (
            f"SELECT parent, sum({cents(AMOUNT)}) FROM valid_records WHERE kind = ? "
            "AND json_extract(data, '$.date') <= ? GROUP BY parent"
        )
        rows = self.query(sql, [kind, as_of.isoformat()], [kind])
        return {parent: from_cents(total) for parent, total in rows}

    # -- names ------------------------------------------------------------------------------

    def customer_names(self, ids: Iterable[str | None]) -> dict[str, Any]:
        """{customer id: name} of those of the given customers the index holds."""
        wanted = {i for i in ids if i}
        if not wanted:
            return {}
        id_in, values = in_list("id", wanted)
        sql = (  # ``+kind``: look each one up by id, not through every customer
            "SELECT id, json_extract(data, '$.name') FROM records "
            f"WHERE +kind = 'customer' AND data IS NOT NULL AND {id_in} ORDER BY id"
        )
        return dict(self.query(sql, values, ["customer"]).fetchall())


def _first_problem(problems: str | None) -> str:
    found = json.loads(problems) if problems else None
    if not found:
        return "unreadable"
    _where, message, field = found[0]
    return f"{field}: {message}" if field else message


def _contract(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return row[:6]


def _open_in_cents(schedule: list[tuple[Any, Any]], paid: int) -> list[OpenInstalment] | None:
    """``money.open_instalments`` of (due, cents) in settling order, in integer cents: 5,000
    contracts' plans in Decimal were most of ``receivables``. None when a day or an amount
    is missing (the index holds no plain number or text for it)."""
    remaining, result = paid, []
    for due, cents_due in schedule:
        if due is None or cents_due is None:
            return None
        settled = max(0, min(cents_due, remaining))
        remaining -= settled
        if cents_due > settled:
            result.append(OpenInstalment(_day(due), from_cents(cents_due - settled)))
    return result


_day = functools.cache(dt.date.fromisoformat)  # a few hundred distinct due days


def _plan(raw: Any, amount: Decimal, signed: dt.date) -> list[tuple[dt.date, Decimal]]:
    rows = json.loads(raw) if isinstance(raw, str) else raw
    if not rows:
        return default_plan(amount, signed)
    return [(dt.date.fromisoformat(r["due"]), decimal(r["amount"])) for r in rows]


def totals(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name in COUNT_METRICS:
        result[name] = sum(r[name] for r in rows)
    for name in AMOUNT_METRICS:
        result[name] = sum((r[name] for r in rows), Decimal(0))
    return result
