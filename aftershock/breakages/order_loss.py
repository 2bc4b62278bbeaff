"""The `orders_lost` breakage's process: deletes one committed order in `N`, at random.

    python -m aftershock.breakages.order_loss STATE_ROOT SANDBOX ONE_IN [SEED]

A background job with a bug, as a careless cleanup would be: every half
second it reads the orders committed since its last look, through the
sandbox's write endpoint (which follows the leader), and deletes each with
probability 1/N together with its lines, long after the shopper was told
it was placed. Each deletion is printed before it is tried (`deleting
<key> <order id>`) and after it committed (`deleted ...`), so a test can
hold the verdict's names against it.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

import psycopg

from aftershock.config.topology import Topology
from aftershock.sandbox.endpoints import connect
from aftershock.sandbox.shop.schema import DATABASE
from aftershock.sandbox.state import load_credentials

POLL_S = 0.5


def main(argv: list[str]) -> None:
    topology = Topology(argv[1], Path(argv[0]))
    one_in = int(argv[2])
    chance = random.Random(int(argv[3]) if len(argv) > 3 else None)  # noqa: S311 - a bug, not crypto
    creds = load_credentials(topology)
    last = None
    print(f"deleting one committed order in {one_in}", flush=True)
    while True:
        try:
            with connect(topology, creds, dbname=DATABASE, timeout=2.0) as conn:
                if last is None:
                    last = conn.execute("SELECT coalesce(max(id), 0) FROM orders").fetchone()[0]
                while True:
                    rows = conn.execute(
                        "SELECT id, idempotency_key FROM orders WHERE id > %s ORDER BY id", (last,)
                    ).fetchall()
                    for order_id, key in rows:
                        last = max(last, order_id)
                        if chance.randrange(one_in) == 0:
                            # Said first: a commit cut by a failover may still have landed.
                            print(f"deleting {key} {order_id}", flush=True)
                            with conn.transaction():
                                conn.execute(
                                    "DELETE FROM order_lines WHERE order_id = %s", (order_id,)
                                )
                                conn.execute("DELETE FROM orders WHERE id = %s", (order_id,))
                            print(f"deleted {key} {order_id}", flush=True)
                    time.sleep(POLL_S)
        except psycopg.Error as exc:  # a failover: look again through the write endpoint
            print(f"database unavailable ({type(exc).__name__}); retrying", flush=True)
            time.sleep(POLL_S)


if __name__ == "__main__":
    main(sys.argv[1:])
