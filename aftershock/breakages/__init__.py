"""Breakages: platform defects, applied from outside, that a verdict must catch.

A *fault* is what the environment does: a region blackholed, a leader
crashed. The platform must survive it, and the experiment declares it
(`aftershock.faults`, recorded in the fault ledger the verdicts read).
A *breakage* is a bug in the platform: a paused WAL replay, a detached
cache copy, a router that answers without a backend, a sold-out region.
The platform does not survive it, and a verdict must say so. Breakages are
never declared to the experiment: they live in a ledger of their own
(`breakages.json` in the sandbox's state directory) that no probe reads,
and the import contract forbids the Chaos Toolkit surface to import this
package.

Each breakage is recorded before it acts and has an idempotent undo, as a
fault has; `aftershock sandbox heal` and `sandbox down` undo whatever the
ledger holds. `aftershock breakage list` prints the catalog
(`catalog.CATALOG`), `apply` and `undo` run one by hand; the verdict
matrix (`experiments/verdicts.yaml`) names, for every verdict, the tests
in which a breakage fails it.
"""
