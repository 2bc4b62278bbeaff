"""Run one event daemon: `python -m aftershock.sandbox.events relay|fulfil --config events.json`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

from aftershock.sandbox.events import fulfilment, relay
from aftershock.sandbox.events.config import EventsConfig


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m aftershock.sandbox.events")
    parser.add_argument("role", choices=["relay", "fulfil"])
    parser.add_argument("--config", type=Path, required=True, help="events JSON config file")
    args = parser.parse_args()
    try:
        config = EventsConfig.load(args.config)
    except (OSError, ValueError, TypeError) as exc:
        print(f"error: cannot load {args.config}: {exc}", file=sys.stderr)
        return 2
    daemon = relay.run if args.role == "relay" else fulfilment.run
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(daemon(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
