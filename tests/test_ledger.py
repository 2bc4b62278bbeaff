"""The fault ledger: written before a fault acts, forgotten after its undo."""

from __future__ import annotations

from aftershock.targets.ledger import Entry, Ledger


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


def test_the_journal_keeps_injection_and_heal_after_the_entry_is_gone(tmp_path) -> None:
    book = Ledger(tmp_path / "faults.json")
    entry = book.record(Entry("isolate_region", {"region": "taiwan"}))
    book.forget(entry.id)
    book.forget(entry.id)  # forgetting twice logs one heal
    events = Ledger(tmp_path / "faults.json").events()
    assert [(e.event, e.id, e.fault) for e in events] == [
        ("inject", entry.id, "isolate_region"),
        ("heal", entry.id, "isolate_region"),
    ]
    assert events[0].at <= events[1].at


def test_a_torn_journal_line_is_skipped_not_fatal(tmp_path) -> None:
    book = Ledger(tmp_path / "faults.json")
    book.record(Entry("kill_cache", {"region": "tokyo"}))
    with book.journal.open("a") as out:
        out.write('{"event": "heal", "id"')
    assert [e.event for e in book.events()] == ["inject"]
