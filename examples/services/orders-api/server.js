// orders-api: an example service for aftershock's service contract (see service.yaml).
//
// Deliberately unlike the shop: other paths and field names, idempotency by an
// X-Request-Id kept in a table of its own, UUID purchase ids, readiness at
// /actuator/health/readiness (as a Spring Boot service answers it), and one
// PostgreSQL endpoint that follows the leader (no multi-host DSN).
//
// The planted bug: with ORDERS_API_BUG=no-dedupe the service skips the
// request table, so a retried or resubmitted request makes a second purchase
// under the same request id. The gate must name those keys.
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const crypto = require("node:crypto");
const { Pool } = require("pg");

const env = process.env;
const REGION = env.ORDERS_API_REGION || "local";
const HOST = env.ORDERS_API_HOST || "127.0.0.1";
const PORT = Number(env.ORDERS_API_PORT || 8080);
const BUG = env.ORDERS_API_BUG || "";

const pool = new Pool({
  host: env.ORDERS_API_DB_HOST,
  port: Number(env.ORDERS_API_DB_PORT || 5432),
  database: env.ORDERS_API_DB_NAME,
  user: env.ORDERS_API_DB_USER,
  password: env.ORDERS_API_DB_PASSWORD_FILE
    ? fs.readFileSync(env.ORDERS_API_DB_PASSWORD_FILE, "utf8").trim()
    : env.ORDERS_API_DB_PASSWORD,
  max: 10,
  connectionTimeoutMillis: 2000,
  // A dead leader must not hold a request for minutes: the pool drops it.
  statement_timeout: 4000,
  query_timeout: 5000,
  keepAlive: true,
});
pool.on("error", (err) => log(`pool: ${err.message}`)); // an idle client's broken connection

function log(message) {
  process.stdout.write(`${new Date().toISOString()} orders-api ${REGION}: ${message}\n`);
}

function answer(res, status, body) {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(data),
    "X-Served-By": REGION,
  });
  res.end(data);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      if (chunks.length === 0) return resolve({});
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (err) {
        reject(Object.assign(new Error("the body is not JSON"), { status: 400 }));
      }
    });
    req.on("error", reject);
  });
}

async function readiness(res) {
  try {
    await pool.query("SELECT 1");
    answer(res, 200, { status: "UP" });
  } catch (err) {
    answer(res, 503, { status: "OUT_OF_SERVICE", reason: err.message });
  }
}

async function listItems(res, url) {
  const page = Math.max(0, Number(url.searchParams.get("page") || 0));
  const rows = await pool.query(
    "SELECT sku, title, units_left AS \"unitsLeft\" FROM item ORDER BY sku LIMIT 20 OFFSET $1",
    [page * 20],
  );
  answer(res, 200, { items: rows.rows, page });
}

async function getItem(res, sku) {
  const rows = await pool.query(
    "SELECT sku, title, units_left AS \"unitsLeft\" FROM item WHERE sku = $1",
    [sku],
  );
  if (rows.rowCount === 0) return answer(res, 404, { error: `no item ${sku}` });
  answer(res, 200, rows.rows[0]);
}

async function purchase(req, res) {
  const requestId = req.headers["x-request-id"];
  if (!requestId) return answer(res, 400, { error: "X-Request-Id is required" });
  const body = await readBody(req);
  const sku = String(body.sku || "");
  const quantity = Number(body.quantity || 1);
  if (!sku || !Number.isInteger(quantity) || quantity < 1) {
    return answer(res, 400, { error: "sku and a positive integer quantity are required" });
  }
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    if (BUG !== "no-dedupe") {
      // The request table is the idempotency: one row per request id, ever.
      const claimed = await client.query(
        "INSERT INTO request_log (request_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING request_id",
        [requestId],
      );
      if (claimed.rowCount === 0) {
        await client.query("ROLLBACK");
        const earlier = await pool.query(
          "SELECT id, region FROM purchase WHERE request_id = $1",
          [requestId],
        );
        if (earlier.rowCount === 0) return answer(res, 409, { error: "request in flight" });
        return answer(res, 200, { purchaseId: earlier.rows[0].id, region: earlier.rows[0].region });
      }
    }
    const taken = await client.query(
      "UPDATE item SET units_left = units_left - $2 WHERE sku = $1 AND units_left >= $2",
      [sku, quantity],
    );
    if (taken.rowCount === 0) {
      await client.query("ROLLBACK");
      return answer(res, 409, { error: `sold out: ${sku}` });
    }
    const id = crypto.randomUUID();
    await client.query(
      "INSERT INTO purchase (id, request_id, sku, quantity, region) VALUES ($1, $2, $3, $4, $5)",
      [id, requestId, sku, quantity, REGION],
    );
    await client.query("COMMIT");
    answer(res, 201, { purchaseId: id, region: REGION });
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

async function renameAccount(req, res, accountId) {
  const body = await readBody(req);
  const name = String(body.displayName || "");
  if (!name) return answer(res, 400, { error: "displayName is required" });
  await pool.query(
    `INSERT INTO account (account_id, display_name, region, changed_at)
     VALUES ($1, $2, $3, clock_timestamp())
     ON CONFLICT (account_id) DO UPDATE
       SET display_name = EXCLUDED.display_name, region = EXCLUDED.region,
           changed_at = EXCLUDED.changed_at`,
    [accountId, name, REGION],
  );
  answer(res, 200, { accountId, displayName: name });
}

async function route(req, res) {
  const url = new URL(req.url, "http://service");
  const path = url.pathname;
  if (req.method === "GET" && path === "/actuator/health/readiness") return readiness(res);
  if (req.method === "GET" && path === "/actuator/health/liveness") {
    return answer(res, 200, { status: "UP" });
  }
  if (req.method === "GET" && path === "/api/v1/items") return listItems(res, url);
  let match = path.match(/^\/api\/v1\/items\/([^/]+)$/);
  if (req.method === "GET" && match) return getItem(res, decodeURIComponent(match[1]));
  if (req.method === "POST" && path === "/api/v1/purchases") return purchase(req, res);
  match = path.match(/^\/api\/v1\/accounts\/([^/]+)$/);
  if (req.method === "PUT" && match) return renameAccount(req, res, decodeURIComponent(match[1]));
  answer(res, 404, { error: `no route ${req.method} ${path}` });
}

const server = http.createServer((req, res) => {
  route(req, res).catch((err) => {
    const status = err.status || 503; // the database is away: unknown, retry with the same id
    if (!res.headersSent) answer(res, status, { error: err.message });
    if (status >= 500) log(`${req.method} ${req.url}: ${err.message}`);
  });
});
server.keepAliveTimeout = 65000;

function shutdown(signal) {
  log(`${signal}: closing`);
  server.close(() => pool.end().finally(() => process.exit(0)));
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));

server.listen(PORT, HOST, () => {
  log(`listening on ${HOST}:${PORT}${BUG ? ` with the planted bug ${BUG}` : ""}`);
});
