"""Run one shop instance: `python -m aftershock.sandbox.shop --config shop.json`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

from aftershock.sandbox.shop.app import create_app
from aftershock.sandbox.shop.config import ShopConfig


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m aftershock.sandbox.shop")
    parser.add_argument("--config", type=Path, required=True, help="shop JSON config file")
    parser.add_argument(
        "--runtime", type=Path, default=None, help="runtime settings JSON, reloaded on SIGHUP"
    )
    args = parser.parse_args()
    try:
        config = ShopConfig.load(args.config)
    except (OSError, ValueError, TypeError) as exc:
        print(f"error: cannot load {args.config}: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        create_app(config, args.runtime),
        host=config.listen_host,
        port=config.listen_port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
