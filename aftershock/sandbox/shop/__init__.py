"""The shop: the system under test in the sandbox, one instance per region.

Catalog (cache-aside through the region's Redis), carts (in the region's
Redis), checkout with idempotency keys on the PostgreSQL leader, health
endpoints for the edge, and Prometheus metrics.
"""
