"""The shop's runtime settings: what an operator changes on a running shop, with SIGHUP.

A small JSON file beside the shop's config (`shop-runtime.json`), read at
start and again on SIGHUP, as daemons reload their settings:

- `capacity_rps`: the requests per second the region can serve (0: no
  limit). Above it the shop sheds requests with 503, as an overloaded
  service behind its limiter does; health checks and metrics are never
  shed, so a region at capacity still looks alive to the edge.
- `checkout_enabled`: false turns checkout off (503, "checkout is
  disabled"), as a feature flag or a broken payment provider would.
- `latency_ms`: every request but health checks and metrics waits this
  long before it is served, as a slow dependency or a GC storm would.
- `catalog_stale_s`: product reads are served from a copy the shop keeps
  in its own memory for this long, never asking the global cache again
  meanwhile: a planted stale-read bug (a local cache nobody invalidates).

The breakage library (`aftershock.breakages`) uses them to prove verdicts
fail: a tokyo that cannot carry twice the peak, a journey that cannot
check out, a region too slow for the latency promise, a shop that serves
an old catalog.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

NEVER_SHED = ("/health/", "/metrics")


@dataclass(frozen=True)
class RuntimeSettings:
    """The settings a running shop takes on SIGHUP."""

    capacity_rps: float = 0.0
    checkout_enabled: bool = True
    latency_ms: float = 0.0
    catalog_stale_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("capacity_rps", "latency_ms", "catalog_stale_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, not {value!r}")
            if value < 0:
                raise ValueError(f"{name} must be 0 (off) or above, not {value}")
        if not isinstance(self.checkout_enabled, bool):
            raise ValueError(
                f"checkout_enabled must be true or false, not {self.checkout_enabled!r}"
            )

    @classmethod
    def load(cls, path: Path | None) -> RuntimeSettings:
        """The settings in `path`; the defaults when there is no such file."""
        if path is None or not path.exists():
            return cls()
        return cls(**json.loads(path.read_text()))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TokenBucket:
    """At most `rate` requests a second, with a burst of one second's worth."""

    def __init__(self, rate: float, clock: Any = time.monotonic) -> None:
        self.rate = float(rate)
        self.clock = clock
        self.tokens = self.rate
        self.at = clock()

    def take(self) -> bool:
        """True when a request may go on; no limit when the rate is 0."""
        if self.rate <= 0:
            return True
        now = self.clock()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class CapacityMiddleware:
    """Delays requests by `latency_ms`, then sheds those beyond the region's capacity with 503.

    Health checks and metrics are never delayed or shed.
    """

    def __init__(self, app: ASGIApp, region: str) -> None:
        self.app = app
        self.region = region

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or path.startswith(NEVER_SHED):
            await self.app(scope, receive, send)
            return
        delay_ms = float(getattr(scope["app"].state, "latency_ms", 0.0))
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000.0)
        bucket: TokenBucket | None = getattr(scope["app"].state, "capacity", None)
        if bucket is not None and not bucket.take():
            body = {"error": "over_capacity", "message": f"{self.region} is over its capacity"}
            headers = {"X-Served-By": self.region, "Retry-After": "1"}
            await JSONResponse(body, status_code=503, headers=headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)
