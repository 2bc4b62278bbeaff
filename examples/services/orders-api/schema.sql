-- orders-api's tables, applied by the sandbox at boot as the service's role
-- (placeholders: none; run once per sandbox, so every statement is idempotent).
CREATE TABLE IF NOT EXISTS item (
    sku         text PRIMARY KEY,
    title       text NOT NULL,
    units_total integer NOT NULL CHECK (units_total >= 0),
    units_left  integer NOT NULL CHECK (units_left >= 0)
);

-- Idempotency: one row per X-Request-Id, ever, claimed in the purchase's transaction.
CREATE TABLE IF NOT EXISTS request_log (
    request_id text PRIMARY KEY,
    claimed_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE TABLE IF NOT EXISTS purchase (
    id         uuid PRIMARY KEY,
    request_id text NOT NULL,          -- not unique on purpose: request_log is the guard
    sku        text NOT NULL REFERENCES item (sku),
    quantity   integer NOT NULL CHECK (quantity > 0),
    region     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS purchase_request_id ON purchase (request_id);

CREATE TABLE IF NOT EXISTS account (
    account_id   text PRIMARY KEY,
    display_name text NOT NULL,
    region       text NOT NULL,
    changed_at   timestamptz NOT NULL
);

INSERT INTO item (sku, title, units_total, units_left)
SELECT 'SKU-' || lpad(n::text, 4, '0'), 'Item ' || n, 100000, 100000
FROM generate_series(1, 500) AS n
ON CONFLICT (sku) DO NOTHING;
