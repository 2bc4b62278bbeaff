-- The shop's tables, applied at `sandbox up` (aftershock/sandbox/shop/schema.py seeds them).
CREATE TABLE products (
    id          integer PRIMARY KEY,
    name        text    NOT NULL,
    price_cents integer NOT NULL CHECK (price_cents >= 0),
    -- The only stock check: the database refuses to sell what it does not
    -- hold, for both regions' shops at once (see orders._take_stock).
    stock       integer NOT NULL CONSTRAINT products_stock_check CHECK (stock >= 0),
    -- Units ever received: stock left must equal stocked minus units sold.
    stocked     integer NOT NULL
);
CREATE TABLE orders (
    id              bigserial   PRIMARY KEY,
    -- The only judge of "same order": a unique key, never an application check.
    idempotency_key text        NOT NULL UNIQUE,
    fingerprint     text        NOT NULL,
    region          text        NOT NULL,
    total_cents     bigint      NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE order_lines (
    order_id    bigint  NOT NULL REFERENCES orders (id),
    product_id  integer NOT NULL REFERENCES products (id),
    quantity    integer NOT NULL CHECK (quantity > 0),
    price_cents integer NOT NULL,
    PRIMARY KEY (order_id, product_id)
);
-- Order events not yet published: written in the order's own transaction,
-- deleted by the region's relay once its broker acknowledged them.
CREATE TABLE outbox (
    id              bigserial   PRIMARY KEY,
    idempotency_key text        NOT NULL,
    region          text        NOT NULL,
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_region ON outbox (region, id);
-- The corrected multi-writer inventory (ADR-037 review): each region sells
-- only from its own allotment and only ever updates its own row, so the
-- two regions' writes commute and replication has nothing to overwrite.
CREATE TABLE stock_allotments (
    product_id  integer NOT NULL REFERENCES products (id),
    region      text    NOT NULL,
    allotted    integer NOT NULL,
    sold        integer NOT NULL DEFAULT 0 CONSTRAINT allotment_sold_check CHECK (sold <= allotted),
    PRIMARY KEY (product_id, region)
);
-- Customer profiles: one register per customer, last write wins (ADR-037).
CREATE TABLE profiles (
    customer    text        PRIMARY KEY,
    value       text        NOT NULL,
    region      text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One row per region, rewritten by the harness to time replication between
-- writers (multi-writer only; the single writer has Patroni's own view).
CREATE TABLE replication_marks (
    region      text        PRIMARY KEY,
    seq         bigint      NOT NULL,
    written_at  timestamptz NOT NULL
);
