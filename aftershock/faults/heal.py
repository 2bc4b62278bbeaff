"""Undo every fault the ledger holds: the action a rollback or an operator calls."""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.config.target import sandbox, target_name

__all__ = ["heal_all"]


def heal_all(configuration: Configuration = None, secrets: Secrets = None) -> list[dict[str, Any]]:
    """Undo every recorded fault, newest first; a no-op when nothing is recorded."""
    target = target_name(configuration)
    if target != "local":
        from aftershock.targets.drivers import heal

        return heal(target, configuration)
    from aftershock.targets.local import heal_all as heal_local

    return heal_local(sandbox(configuration))
