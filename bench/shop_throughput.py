"""Shop throughput through the edge: checkouts and product reads at a fixed concurrency.

    sudo .venv/bin/python bench/shop_throughput.py [--seconds 10] [--connections 16]

Boots a sandbox with ample stock (or uses a running one with --name N
--reuse), then drives each workload with wrk (one thread, a fixed number of
connections, the same duration) and prints requests/s and latency
percentiles side by side. wrk is used because a Python client needs most of
a core for itself; on this two-core machine client and servers still share
the CPU, so compare figures between runs on the same machine.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time

from aftershock.config.topology import Topology
from aftershock.sandbox import lifecycle
from aftershock.sandbox.options import SandboxOptions

# Unique idempotency keys per request (thread id + counter), random products.
CHECKOUT_LUA = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  prefix = "bench-" .. os.time() .. "-" .. tid .. "-"
  counter = 0
  math.randomseed(os.time() + tid)
end
function request()
  counter = counter + 1
  local body = '{"items":[{"product_id":' .. math.random(1, PRODUCTS) .. ',"quantity":1}]}'
  local headers = {["Content-Type"] = "application/json", ["Idempotency-Key"] = prefix .. counter}
  return wrk.format("POST", "/orders", headers, body)
end
"""

READ_LUA = """
function init(args) math.randomseed(os.time()) end
function request()
  return wrk.format("GET", "/products/" .. math.random(1, PRODUCTS))
end
"""


SOCKET_ERRORS = r"(?:connect|read|write|timeout) (\d+)"


def run_wrk(url: str, script: str, seconds: float, connections: int) -> dict[str, float]:
    """Run wrk with a Lua script; return req/s, p50/p99 (ms) and non-2xx count."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s", "--latency", "-s", lua.name,
             url],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _millis(re.search(r"\s50%\s+([\d.]+\w+)", out).group(1)),
        "p99_ms": _millis(re.search(r"\s99%\s+([\d.]+\w+)", out).group(1)),
        "non_2xx": float(m.group(1)) if (m := re.search(r"Non-2xx.*?:\s+(\d+)", out)) else 0.0,
        "errors": float(sum(int(n) for n in re.findall(SOCKET_ERRORS, out))),
    }  # fmt: skip


def _millis(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--name", default="benchshp")
    parser.add_argument("--reuse", action="store_true", help="use a running sandbox as it is")
    args = parser.parse_args()

    products = 1000
    topology = Topology(args.name)
    if not args.reuse:
        lifecycle.up(topology, SandboxOptions(products=products, stock=10_000_000))
    try:
        results = {
            label: run_wrk(
                topology.edge_url,
                script.replace("PRODUCTS", str(products)),
                args.seconds,
                args.connections,
            )
            for label, script in (
                ("checkout (POST /orders)", CHECKOUT_LUA),
                ("product read (GET /products/{id})", READ_LUA),
            )
        }
    finally:
        if not args.reuse:
            lifecycle.down(topology)

    print(f"\nthrough the edge (60/40 over both shops), wrk 1 thread, {args.connections} "
          f"connections, {args.seconds:.0f} s each, {time.strftime('%Y-%m-%d %H:%M')}")  # fmt: skip
    print(f"{'workload':<36}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'non-2xx':>9}{'errors':>8}")
    for label, r in results.items():
        print(
            f"{label:<36}{r['rps']:>9.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
            f"{r['non_2xx']:>9.0f}{r['errors']:>8.0f}"
        )
    reads, orders = results["product read (GET /products/{id})"], results["checkout (POST /orders)"]
    print(f"\nproduct reads per checkout, same concurrency: {reads['rps'] / orders['rps']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
