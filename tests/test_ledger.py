"""The fault ledger: written before a fault acts, forgotten after its undo."""

from __future__ import annotations

from aftershock.faults.ledger import Entry, Ledger


def test_empty_ledger_has_no_entries(tmp_path) -> None:
    assert Ledger(tmp_path / "faults.json").entries() == []


def test_recorded_entry_survives_a_new_reader_until_forgotten(tmp_path) -> None:
    path = tmp_path / "faults.json"
    entry = Ledger(path).record(Entry("isolate_region", {"region": "taiwan"}))
    reread = Ledger(path)
    assert reread.find("isolate_region", {"region": "taiwan"}) == entry
    assert reread.find("isolate_region", {"region": "tokyo"}) is None
    reread.forget(entry.id)
    assert Ledger(path).entries() == []
