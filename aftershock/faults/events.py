"""Event-path faults: each region's broker, the mirror link, relays and consumers.

Chaos Toolkit actions: each dispatches to the target the configuration names.
"""

from __future__ import annotations

from typing import Any

from chaoslib.types import Configuration, Secrets

from aftershock.targets.dispatch import run

__all__ = [
    "cut_mirror_link",
    "heal_mirror_link",
    "kill_broker",
    "pause_broker",
    "resume_broker",
    "resume_consumer",
    "stall_consumer",
    "start_broker",
    "start_relay",
    "stop_relay",
]


def kill_broker(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Crash the region's broker (SIGKILL locally; an MSK broker reboot on aws)."""
    return run("kill_broker", configuration, region=region)


def start_broker(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Start the region's broker and wait until JetStream answers; idempotent."""
    return run("start_broker", configuration, region=region)


def pause_broker(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Freeze the region's broker: its connections stay open and nothing is answered."""
    return run("pause_broker", configuration, region=region)


def resume_broker(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Undo `pause_broker`; idempotent."""
    return run("resume_broker", configuration, region=region)


def cut_mirror_link(configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Cut only the inter-region event mirroring (the leafnode link; MirrorMaker 2 on aws)."""
    return run("cut_mirror_link", configuration)


def heal_mirror_link(
    configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Undo `cut_mirror_link`; idempotent."""
    return run("heal_mirror_link", configuration)


def stall_consumer(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Freeze the region's fulfilment consumer: events wait in the streams."""
    return run("stall_consumer", configuration, region=region)


def resume_consumer(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Undo `stall_consumer`; idempotent."""
    return run("resume_consumer", configuration, region=region)


def stop_relay(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Stop the region's outbox relay: orders commit, their events wait in the outbox."""
    return run("stop_relay", configuration, region=region)


def start_relay(
    region: str, configuration: Configuration = None, secrets: Secrets = None
) -> dict[str, Any]:
    """Start the region's outbox relay again; idempotent."""
    return run("start_relay", configuration, region=region)
