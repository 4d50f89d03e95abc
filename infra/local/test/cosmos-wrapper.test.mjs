// Smoke test of the local Cosmos stand-in over real HTTPS: each fix the wrapper makes to
// @vercel/cosmosdb-server is exercised the way the .NET SDK (Gateway mode) sends it.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import https from "node:https";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const serverScript = path.join(here, "..", "cosmos-server.mjs");
const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false, maxSockets: 1 });

let server;
let port;

function request(method, urlPath, { headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request({
      host: "127.0.0.1",
      port,
      method,
      path: urlPath,
      agent,
      headers: {
        "x-ms-version": "2020-07-15",
        ...(payload === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
    }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => { text += c; });
      res.on("end", () => {
        resolve({ status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : null, socket: res.socket });
      });
    });
    req.on("error", reject);
    req.end(payload);
  });
}

const upsert = (doc) => request("POST", "/dbs/crm/colls/customers/docs", {
  headers: { "x-ms-documentdb-is-upsert": "True", "x-ms-documentdb-partitionkey": JSON.stringify([doc.tenant]) },
  body: doc,
});

const query = (sql, headers = {}, parameters = []) => request("POST", "/dbs/crm/colls/customers/docs", {
  headers: {
    "x-ms-documentdb-isquery": "True",
    "content-type": "application/query+json",
    ...headers,
  },
  body: { query: sql, parameters },
});

const changeFeed = (headers = {}) => request("GET", "/dbs/crm/colls/customers/docs", {
  headers: { "a-im": "Incremental Feed", "x-ms-documentdb-partitionkeyrangeid": "0", ...headers },
});

before(async () => {
  server = spawn(process.execPath, [serverScript, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  port = await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (chunk) => {
      out += chunk;
      const m = /connections at 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    server.on("exit", (code) => reject(new Error(`cosmos-server exited with ${code}`)));
  });
  assert.equal((await request("POST", "/dbs", { body: { id: "crm" } })).status, 201);
  const coll = await request("POST", "/dbs/crm/colls", {
    body: { id: "customers", partitionKey: { paths: ["/tenant"], kind: "Hash", version: 2 } },
  });
  assert.equal(coll.status, 201);
  for (let i = 0; i < 6; i += 1) {
    const r = await upsert({ id: `c${i}`, tenant: i % 2 === 0 ? "north" : "south", score: i });
    assert.equal(r.status, 201);
  }
});

after(() => {
  agent.destroy();
  server.kill("SIGTERM");
});

describe("indexed ORDER BY", () => {
  const pageAll = async (sql, parameters, between, pageSize = 2, run = query) => {
    const ids = [];
    let continuation;
    let pages = 0;
    do {
      const r = await run(sql, {
        "x-ms-documentdb-query-enablecrosspartition": "True",
        "x-ms-max-item-count": String(pageSize),
        ...(continuation ? { "x-ms-continuation": continuation } : {}),
      }, parameters);
      assert.equal(r.status, 200);
      assert.ok(r.body.Documents.length <= pageSize);
      ids.push(...r.body.Documents.map((d) => d.id));
      continuation = r.headers["x-ms-continuation"];
      pages += 1;
      if (between) await between(pages);
    } while (continuation && pages < 20);
    return ids;
  };

  test("A filtered ORDER BY pages in order with the filter applied, as the engine answers it in one page", async () => {
    for (let i = 0; i < 12; i += 1) {
      await upsert({ id: `r${i}`, tenant: "rank", risk: { value: (i * 5) % 12 }, group: i % 3 === 0 ? "a" : "b" });
    }
    const sql = 'SELECT * FROM c WHERE c.tenant = "rank" AND c["group"] = @g ORDER BY c.risk["value"] DESC';
    const paged = await pageAll(sql, [{ name: "@g", value: "b" }]);
    // With a partition-key header the package's engine answers (sorting everything), which is the reference.
    const whole = await query(sql, { "x-ms-documentdb-partitionkey": '["rank"]' }, [{ name: "@g", value: "b" }]);
    const expected = [...Array(12).keys()].filter((i) => i % 3 !== 0).sort((x, y) => ((y * 5) % 12) - ((x * 5) % 12)).map((i) => `r${i}`);
    assert.deepEqual(paged, expected);
    assert.deepEqual(whole.body.Documents.map((d) => d.id), expected);
  });

  test("A continuation stays valid when a write rebuilds the index between pages", async () => {
    for (let i = 0; i < 6; i += 1) await upsert({ id: `w${i}`, tenant: "write", n: i * 10 });
    const ids = await pageAll('SELECT * FROM c WHERE c.tenant = "write" ORDER BY c.n ASC', [], async (page) => {
      if (page === 1) await upsert({ id: "w-late", tenant: "write", n: 45 });
    });
    assert.deepEqual(ids, ["w0", "w1", "w2", "w3", "w4", "w-late", "w5"]);
  });

  test("Unordered scans and counts across partitions run in chunks and match the engine's answer", async () => {
    // More documents than one chunk (256), so the answer spans chunks and pages; in their own container, so the other
    // tests (the change feed's pages) do not see them.
    const coll = await request("POST", "/dbs/crm/colls", { body: { id: "scans", partitionKey: { paths: ["/tenant"], kind: "Hash", version: 2 } } });
    assert.equal(coll.status, 201);
    for (let i = 0; i < 600; i += 1) {
      await request("POST", "/dbs/crm/colls/scans/docs", {
        headers: { "x-ms-documentdb-is-upsert": "True", "x-ms-documentdb-partitionkey": JSON.stringify([`t${i % 7}`]) },
        body: { id: `s${i}`, tenant: `t${i % 7}`, kind: "scan", keep: i % 4 === 0 },
      });
    }
    const query = (sql, headers = {}, parameters = []) => request("POST", "/dbs/crm/colls/scans/docs", {
      headers: { "x-ms-documentdb-isquery": "True", "content-type": "application/query+json", ...headers },
      body: { query: sql, parameters },
    });
    const sql = 'SELECT * FROM c WHERE c.kind = "scan" AND c.keep = @keep';
    let pages = 0;
    const ids = await pageAll(sql, [{ name: "@keep", value: true }], (n) => { pages = n; }, 40, query);
    const expected = [...Array(600).keys()].filter((i) => i % 4 === 0).map((i) => `s${i}`);
    assert.equal(pages, 4); // 150 matches in pages of 40
    assert.deepEqual([...ids].sort(), [...expected].sort());
    assert.equal(new Set(ids).size, ids.length);

    const count = await query('SELECT VALUE COUNT(1) FROM c WHERE c.kind = "scan" AND c.keep = @keep',
      { "x-ms-documentdb-query-enablecrosspartition": "True" }, [{ name: "@keep", value: true }]);
    assert.equal(count.status, 200);
    assert.deepEqual(count.body.Documents, [150]);
    // Equality terms pre-filter (as an index would); the rest of the WHERE, OR and AND inside parentheses, still applies.
    const mixed = await query('SELECT VALUE COUNT(1) FROM c WHERE c["keep"] = true AND (c.tenant = "t0" OR c.tenant = "t1") AND c.id != "s0"',
      { "x-ms-documentdb-query-enablecrosspartition": "True" });
    const expectedMixed = [...Array(600).keys()].filter((i) => i % 4 === 0 && (i % 7 === 0 || i % 7 === 1) && i !== 0).length;
    assert.deepEqual(mixed.body.Documents, [expectedMixed]);
    const inPartition = await query('SELECT VALUE COUNT(1) FROM c WHERE c.kind = "scan"', { "x-ms-documentdb-partitionkey": '["t0"]' });
    assert.deepEqual(inPartition.body.Documents, [86]); // the engine's own answer within one partition
  });

  test("Several ORDER BY paths without a composite index are refused, as Cosmos refuses them", async () => {
    const r = await query('SELECT * FROM c WHERE c.tenant = "write" ORDER BY c.tenant ASC, c.n DESC', { "x-ms-max-item-count": "2" });
    assert.equal(r.status, 400);
  });
});

describe("point reads", () => {
  test("Reading a missing customer answers 404 with a Cosmos NotFound body", async () => {
    const r = await request("GET", "/dbs/crm/colls/customers/docs/nobody", {
      headers: { "x-ms-documentdb-partitionkey": '["north"]' },
    });
    assert.equal(r.status, 404);
    assert.equal(r.body.code, "NotFound");
    assert.equal(typeof r.body.message, "string");
  });

  test("Reading a customer under another partition key answers 404", async () => {
    const r = await request("GET", "/dbs/crm/colls/customers/docs/c1", {
      headers: { "x-ms-documentdb-partitionkey": '["north"]' },
    });
    assert.equal(r.status, 404);
  });

  test("Reading with the current etag in If-None-Match answers 304, with a stale one 200", async () => {
    const first = await request("GET", "/dbs/crm/colls/customers/docs/c0", {
      headers: { "x-ms-documentdb-partitionkey": '["north"]' },
    });
    assert.equal(first.status, 200);
    assert.ok(first.headers.etag);
    const again = await request("GET", "/dbs/crm/colls/customers/docs/c0", {
      headers: { "x-ms-documentdb-partitionkey": '["north"]', "if-none-match": first.headers.etag },
    });
    assert.equal(again.status, 304);
    const stale = await request("GET", "/dbs/crm/colls/customers/docs/c0", {
      headers: { "x-ms-documentdb-partitionkey": '["north"]', "if-none-match": '"stale"' },
    });
    assert.equal(stale.status, 200);
    assert.equal(stale.body.id, "c0");
  });

  test("Deleting a missing customer answers 404 with an error code", async () => {
    const r = await request("DELETE", "/dbs/crm/colls/customers/docs/nobody", {
      headers: { "x-ms-documentdb-partitionkey": '["north"]' },
    });
    assert.equal(r.status, 404);
    assert.equal(r.body.code, "NotFound");
  });
});

describe("queries", () => {
  test("A query plan request gets a pass-through plan covering the whole key space", async () => {
    const r = await query("SELECT * FROM c ORDER BY c.score", {
      "x-ms-cosmos-is-query-plan-request": "True",
      "x-ms-cosmos-supported-query-features": "Aggregate, Distinct, MultipleOrderBy, OffsetAndLimit, OrderBy, Top",
      "x-ms-documentdb-query-enablecrosspartition": "True",
    });
    assert.equal(r.status, 200);
    assert.equal(r.body.partitionedQueryExecutionInfoVersion, 2);
    assert.deepEqual(r.body.queryInfo.orderBy, []);
    assert.deepEqual(r.body.queryRanges, [{ min: "", max: "FF", isMinInclusive: true, isMaxInclusive: false }]);
  });

  test("A query with a partition-key header sees only that partition's customers", async () => {
    const r = await query("SELECT * FROM c WHERE c.score >= @min", { "x-ms-documentdb-partitionkey": '["south"]' }, [
      { name: "@min", value: 0 },
    ]);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.Documents.map((d) => d.id).sort(), ["c1", "c3", "c5"]);
  });

  test("COUNT with a partition-key header counts only that partition", async () => {
    const r = await query("SELECT VALUE COUNT(1) FROM c", { "x-ms-documentdb-partitionkey": '["north"]' });
    assert.deepEqual(r.body.Documents, [3]);
  });

  test("A cross-partition query pages with continuation tokens and ORDER BY holds across pages", async () => {
    const ids = [];
    let continuation;
    let pages = 0;
    do {
      const r = await query("SELECT * FROM c ORDER BY c.score DESC", {
        "x-ms-documentdb-query-enablecrosspartition": "True",
        "x-ms-max-item-count": "2",
        ...(continuation ? { "x-ms-continuation": continuation } : {}),
      });
      assert.equal(r.status, 200);
      assert.ok(r.body.Documents.length <= 2);
      ids.push(...r.body.Documents.map((d) => d.id));
      continuation = r.headers["x-ms-continuation"];
      pages += 1;
    } while (continuation && pages < 10);
    assert.deepEqual(ids, ["c5", "c4", "c3", "c2", "c1", "c0"]);
    assert.equal(pages, 3);
  });

  test("A read feed (no query text) with a partition-key header lists only that partition", async () => {
    const r = await request("GET", "/dbs/crm/colls/customers/docs", {
      headers: { "x-ms-documentdb-partitionkey": '["north"]' },
    });
    assert.equal(r.status, 200);
    assert.ok(r.body.Documents.length >= 3);
    assert.ok(r.body.Documents.every((d) => d.tenant === "north"));
  });

  test("A query the engine cannot parse answers 400 BadRequest", async () => {
    const r = await query("SELECT FROM WHERE", { "x-ms-documentdb-query-enablecrosspartition": "True" });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, "BadRequest");
  });
});

describe("ReadMany (id IN list) on a container partitioned by /id", () => {
  const keysQuery = (sql, parameters = []) => request("POST", "/dbs/crm/colls/keys/docs", {
    headers: { "x-ms-documentdb-isquery": "True", "content-type": "application/query+json", "x-ms-documentdb-query-enablecrosspartition": "True" },
    body: { query: sql, parameters },
  });

  before(async () => {
    const coll = await request("POST", "/dbs/crm/colls", { body: { id: "keys", partitionKey: { paths: ["/id"], kind: "Hash", version: 2 } } });
    assert.equal(coll.status, 201);
    for (let i = 0; i < 5; i += 1) {
      const r = await request("POST", "/dbs/crm/colls/keys/docs", {
        headers: { "x-ms-documentdb-partitionkey": JSON.stringify([`k${i}`]) },
        body: { id: `k${i}`, owner: `customer-${i}` },
      });
      assert.equal(r.status, 201);
    }
  });

  test("Literal ids (the SDK's ReadMany form) answer the existing documents in list order, absent ids left out", async () => {
    const r = await keysQuery("SELECT * FROM c WHERE c.id IN ( 'k3','missing','k1','k3' )");
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.Documents.map((d) => [d.id, d.owner]), [["k3", "customer-3"], ["k1", "customer-1"]]);
    assert.equal(r.headers["x-ms-item-count"], "2");
    assert.ok(r.body.Documents[0]._etag, "documents carry their system properties, as a point read returns them");
  });

  test("Parameterised ids answer the same documents", async () => {
    const r = await keysQuery("SELECT * FROM c WHERE c.id IN (@a, @b)", [{ name: "@a", value: "k0" }, { name: "@b", value: "k4" }]);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.Documents.map((d) => d.id), ["k0", "k4"]);
  });

  test("On a container partitioned by another path the engine answers the IN list as before", async () => {
    const r = await query("SELECT * FROM c WHERE c.id IN ('c1', 'c4', 'nope')", { "x-ms-documentdb-query-enablecrosspartition": "True" });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.Documents.map((d) => d.id).sort(), ["c1", "c4"]);
  });
});

describe("change feed", () => {
  test("From the beginning, then from the continuation, the feed sees a new write exactly once", async () => {
    const first = await changeFeed();
    assert.equal(first.status, 200);
    assert.ok(first.body.Documents.length >= 6);
    const token = first.headers.etag;
    assert.ok(token);

    const nothing = await changeFeed({ "if-none-match": token });
    assert.equal(nothing.status, 304);
    assert.equal(nothing.headers.etag, token);

    await upsert({ id: "c9", tenant: "north", score: 9 });
    const next = await changeFeed({ "if-none-match": token });
    assert.equal(next.status, 200);
    assert.deepEqual(next.body.Documents.map((d) => d.id), ["c9"]);

    const after = await changeFeed({ "if-none-match": next.headers.etag });
    assert.equal(after.status, 304);
  });

  test("Starting from now (If-None-Match: *) skips history and then sees new writes", async () => {
    const now = await changeFeed({ "if-none-match": "*" });
    assert.equal(now.status, 304);
    await upsert({ id: "c1", tenant: "south", score: 100 });
    const next = await changeFeed({ "if-none-match": now.headers.etag });
    assert.equal(next.status, 200);
    assert.deepEqual(next.body.Documents.map((d) => [d.id, d.score]), [["c1", 100]]);
  });

  test("A partition-scoped change feed returns only that partition", async () => {
    const r = await changeFeed({ "x-ms-documentdb-partitionkey": '["south"]' });
    assert.equal(r.status, 200);
    assert.ok(r.body.Documents.length > 0);
    assert.ok(r.body.Documents.every((d) => d.tenant === "south"));
  });
});

describe("connections", () => {
  test("Responses keep the connection alive so requests reuse one TLS session", async () => {
    const a = await request("GET", "/");
    const b = await request("GET", "/dbs/crm");
    assert.equal(a.headers.connection, "keep-alive");
    assert.equal(b.status, 200);
    assert.equal(a.socket, b.socket);
  });
});
