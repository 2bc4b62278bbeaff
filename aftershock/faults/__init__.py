"""The nemesis: faults with a guaranteed undo, recorded in a ledger on disk."""
