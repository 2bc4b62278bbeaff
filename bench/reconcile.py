"""Reconciling a million acknowledged orders against the orders table (target: <= 5 s).

    .venv/bin/python bench/reconcile.py [--orders 1000000] [--name NAME]

Uses the running sandbox NAME (default: boots and tears down its own,
`rbench`). Inserts `--orders` orders under a fresh key prefix, reads their
(key, id) pairs back as the "acknowledged" set, deletes ten of them, then
times `aftershock.check.reconcile.reconcile` (COPY into a temporary table, set
differences in the database) and checks it names exactly the ten. The
bench's rows are deleted afterwards.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
import uuid

from aftershock.check.reconcile import reconcile
from aftershock.config.topology import Topology
from aftershock.sandbox import lifecycle
from aftershock.sandbox.endpoints import connect
from aftershock.sandbox.state import load_credentials

INSERT = """
INSERT INTO orders (idempotency_key, fingerprint, region, total_cents)
SELECT %(prefix)s || n, 'bench', 'taiwan', n FROM generate_series(1, %(count)s) AS n
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--name", default="")
    args = parser.parse_args()
    topology = Topology(args.name or "rbench")
    if not args.name:
        lifecycle.up(topology)
    try:
        run(topology, args.orders)
    finally:
        if not args.name:
            lifecycle.down(topology)


def run(topology: Topology, count: int) -> None:
    prefix = f"bench-{uuid.uuid4().hex[:8]}-"
    with connect(topology, load_credentials(topology), dbname="shop", timeout=30) as conn:
        began = time.monotonic()
        conn.execute(INSERT, {"prefix": prefix, "count": count})
        print(f"inserted {count:,} orders in {time.monotonic() - began:.1f} s")
        try:
            with conn.cursor().copy(
                "COPY (SELECT idempotency_key, id FROM orders WHERE idempotency_key LIKE %s)"
                " TO STDOUT",
                (prefix + "%",),
            ) as copy:
                acked = [(key, int(order_id)) for key, order_id in copy.rows()]
            deleted = sorted(key for key, _ in random.sample(acked, 10))
            conn.execute("DELETE FROM orders WHERE idempotency_key = ANY(%s)", (deleted,))
            began = time.monotonic()
            result = reconcile(conn, acked, prefix)
            seconds = time.monotonic() - began
        finally:
            conn.execute("DELETE FROM orders WHERE idempotency_key LIKE %s", (prefix + "%",))
    correct = result.lost == deleted and not result.duplicated and not result.unacknowledged
    print(f"reconciled {result.acknowledged:,} acknowledged orders against {result.held:,} held "
          f"in {seconds:.2f} s (target 5 s, {seconds / 5:.2f} of it); "
          f"lost {len(result.lost)} = the 10 deleted: {correct}")  # fmt: skip
    if not correct:
        sys.exit("reconcile did not name exactly the deleted orders")


if __name__ == "__main__":
    main()
