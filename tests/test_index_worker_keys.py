"""The duplicate keys a build makes in its parse workers are model/dupkeys.py's keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salesctl.model.config import parse_config
from salesctl.model.dupkeys import record_keys
from salesctl.store import parsing
from salesctl.store.layout import parse_path
from salesctl.store.parsing import read_record
from salesctl.store.watch import Walk
from salesctl.yamlio import load_file

SAMPLE = Path(__file__).resolve().parent.parent / "records"


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("region", ["CN", "US"])
def test_keys_made_in_workers_are_the_model_keys_of_each_sample_record(
    workers: int, region: str
) -> None:
    walked = sorted(Walk(SAMPLE))
    rows = [
        row
        for batch, _gone in parsing.parse_many(str(SAMPLE), walked, workers=workers, region=region)
        for row in batch
    ]
    keyed = {row[0]: json.loads(row[11]) if row[11] else [] for row in rows}
    leads_and_customers = [r for r in rows if r[2] in ("lead", "customer")]
    assert len(leads_and_customers) >= 10
    for path, _id, kind, *_rest in leads_and_customers:
        loc = parse_path(path)
        assert loc is not None
        data = read_record(SAMPLE, loc).data
        assert keyed[path] == record_keys(kind, data, region), path
    assert all(keyed[r[0]] == [] for r in rows if r[2] not in ("lead", "customer"))
    assert any(keyed[r[0]] for r in leads_and_customers)


def test_the_sample_keys_in_the_index_are_made_with_the_sample_region() -> None:
    from salesctl.store.store import Store

    config, _ = parse_config(load_file(str(SAMPLE / "salesctl.yaml")))
    store = Store(SAMPLE)
    stored = sorted(store.index.duplicate_keys())
    expected = sorted(
        (key, path)
        for path in sorted(Walk(SAMPLE))
        if (loc := parse_path(path)) is not None and loc.kind.name in ("lead", "customer")
        for key in record_keys(loc.kind.name, read_record(SAMPLE, loc).data, config.region)
    )
    assert sorted((row[0], row[3]) for row in stored) == expected
