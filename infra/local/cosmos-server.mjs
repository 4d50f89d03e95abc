#!/usr/bin/env node
// Local Cosmos DB stand-in for iCrm: @vercel/cosmosdb-server run in-process, with the gaps that
// stop the .NET SDK (Microsoft.Azure.Cosmos 3.x, Gateway mode) from working against it filled in.
//
// The package's own request handler is replaced by ours; we reuse its router, its in-memory account
// and its SQL engine (@zeit/cosmosdb-query), and answer the following requests ourselves:
//   - query-plan requests (x-ms-cosmos-is-query-plan-request): the SDK asks the gateway for a plan
//     before every query on Linux (no native query engine there); we answer a pass-through plan so the
//     SDK sends the SQL unchanged to the single partition range and the server's engine does the work
//     (ORDER BY, TOP, aggregates included);
//   - queries carrying x-ms-documentdb-partitionkey: the package ignores the header, we run the query
//     only over the documents of that logical partition (so COUNT/TOP/paging are per partition);
//   - point reads: 404 with a Cosmos-shaped body for missing items (the package answers 500), and 304
//     when If-None-Match carries the current etag;
//   - change feed (A-IM: Incremental feed): every document write gets a monotonically increasing LSN;
//     the feed returns documents changed after the LSN in If-None-Match (the continuation), from the
//     beginning when there is none, and only "now" for If-None-Match: *;
//   - keep-alive instead of Connection: close (a TLS handshake per request costs ~5 ms);
//   - error bodies always carry a Cosmos error code ({"code":"NotFound","message":...});
//   - a document request in a missing container or database answers 404 with x-ms-substatus 1003, as Azure does.
//   - ORDER BY queries are served from a sorted index per ORDER BY path list (see "Indexed ORDER BY" below), so a
//     page of "highest churn first" reads about a page of documents instead of sorting the whole container, as
//     Cosmos's range and composite indexes do;
//   - cross-partition scans without ORDER BY and COUNT queries run the package's engine on chunks of 256 documents:
//     the engine is quadratic in the documents it is given (a WHERE over 20,000 documents took 17 s).
import { createRequire } from "node:module";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const pkgDir = path.dirname(require.resolve("@vercel/cosmosdb-server/package.json"));
const pkgRequire = createRequire(path.join(pkgDir, "lib", "index.js"));
const Account = pkgRequire("./account/index.js").default;
const Documents = pkgRequire("./account/documents.js").default;
const route = pkgRequire("./routes.js").default;
const readJson = pkgRequire("./json.js").default;
const { SyntaxError: QuerySyntaxError } = pkgRequire("@zeit/cosmosdb-query");

// ---------------------------------------------------------------------------------------------
// Change-feed positions. The package keeps no log sequence number, so every stored document version
// is stamped here. A replace stores a new object, so a WeakMap keyed by the stored object gives the
// LSN of the latest version without touching the document body clients see.
let lastLsn = 0;
const lsnOf = new WeakMap();
const originalSet = Object.getPrototypeOf(Documents.prototype)._set;
Documents.prototype._set = function setAndStampLsn(data) {
  const stored = originalSet.call(this, data);
  bumpVersion(this);
  lastLsn += 1;
  lsnOf.set(data, lastLsn);
  return stored;
};
// Every write or delete in a container moves its version on, so its indexes are rebuilt on their next use.
const writeVersions = new WeakMap(); // documents object → number of writes and deletes
const bumpVersion = (documents) => writeVersions.set(documents, (writeVersions.get(documents) || 0) + 1);
const originalDelete = Object.getPrototypeOf(Documents.prototype).delete;
Object.getPrototypeOf(Documents.prototype).delete = function deleteAndCount(...args) {
  bumpVersion(this);
  return originalDelete.apply(this, args);
};

const ERROR_CODES = {
  400: "BadRequest",
  401: "Unauthorized",
  403: "Forbidden",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  412: "PreconditionFailed",
  413: "RequestEntityTooLarge",
  429: "TooManyRequests",
  500: "InternalServerError",
};

const DOCS_PATH = /^\/dbs\/([^/]+)\/colls\/([^/]+)\/docs(?:\/([^/]+))?$/;

function isTrue(req, name) {
  const v = req.headers[name];
  if (!v) return false;
  return (Array.isArray(v) ? v : [v]).some((x) => String(x).toLowerCase() === "true");
}

function header(req, name) {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function normalisePath(url) {
  let pathname = new URL(url, "http://local").pathname;
  if (pathname.startsWith("//")) pathname = pathname.slice(1);
  while (pathname.length > 1 && pathname.endsWith("/")) pathname = pathname.slice(0, -1);
  return pathname;
}

function unquote(etag) {
  if (typeof etag !== "string") return etag;
  const t = etag.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1) : t;
}

/** Partition key components sent by the SDK (`["a"]`, `[5]`, `[{}]` for PartitionKey.None), or undefined. */
function partitionKeyFromHeader(req) {
  const raw = header(req, "x-ms-documentdb-partitionkey");
  if (raw === undefined) return undefined;
  try {
    const v = JSON.parse(raw);
    const key = Array.isArray(v) ? v : [v];
    return key.length ? key : undefined;
  } catch {
    return undefined;
  }
}

function partitionPaths(collectionData) {
  const paths = ((collectionData || {}).partitionKey || {}).paths || [];
  return paths
    .filter((p) => p !== "/_partitionKey")
    .map((p) => p.slice(1).split("/").map((s) => s.replace(/^"(.*)"$/, "$1")));
}

function valueAt(doc, segments) {
  let v = doc;
  for (const s of segments) {
    if (v === null || typeof v !== "object") return undefined;
    v = v[s];
  }
  return v;
}

function isNonePartitionKey(component) {
  return component !== null && typeof component === "object" && Object.keys(component).length === 0;
}

/** True when the document lives in the logical partition named by the header's components. */
function inPartition(doc, paths, key) {
  const n = Math.min(paths.length, key.length);
  for (let i = 0; i < n; i += 1) {
    const actual = valueAt(doc, paths[i]);
    const expected = key[i];
    if (isNonePartitionKey(expected)) {
      if (actual !== undefined) return false;
    } else if (actual !== expected) {
      return false;
    }
  }
  return true;
}

/** The key the package indexes a document under: first partition component, falling back to the id. */
function storageKey(key, id) {
  if (!key) return id;
  const first = key[0];
  if (first === null || first === undefined || typeof first === "object") return id;
  return first;
}

function notFound(message = "Entity with the specified id does not exist in the system.") {
  return { status: 404, body: { code: "NotFound", message } };
}

function allDocuments(collection) {
  return [...collection.documents._data.values()].map((item) => item.read());
}

// A plan that asks the SDK for nothing: no client-side ORDER BY merge, TOP, aggregation or DISTINCT.
// With a single partition key range the server's own engine already produces the final answer, so the
// SDK just forwards the SQL and pages through the server's continuation tokens.
function passThroughQueryPlan() {
  return {
    partitionedQueryExecutionInfoVersion: 2,
    queryInfo: {
      distinctType: "None",
      top: null,
      offset: null,
      limit: null,
      orderBy: [],
      orderByExpressions: [],
      groupByExpressions: [],
      groupByAliases: [],
      aggregates: [],
      groupByAliasToAggregateType: {},
      rewrittenQuery: "",
      hasSelectValue: false,
      dCountInfo: null,
      hasNonStreamingOrderBy: false,
    },
    queryRanges: [{ min: "", max: "FF", isMinInclusive: true, isMaxInclusive: false }],
  };
}

function parseContinuation(req) {
  const raw = header(req, "x-ms-continuation");
  if (!raw) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

function maxItemCount(req) {
  const raw = header(req, "x-ms-max-item-count");
  const n = raw ? parseInt(raw, 10) : NaN;
  return Number.isFinite(n) && n > 0 ? n : null;
}

async function queryDocuments(account, req, params) {
  const body = await readJson(req);
  if (isTrue(req, "x-ms-cosmos-is-query-plan-request")) {
    const collection = account.database(params.dbId).collection(params.collId);
    if (!collection.read()) return notFound("Resource Not Found");
    return { status: 200, body: passThroughQueryPlan() };
  }
  if (!body || !body.query) {
    return { status: 400, body: { code: "BadRequest", message: "missing query" } };
  }
  return runQuery(account, req, params, body.query, body.parameters);
}

// ---------------------------------------------------------------------------------------------
// Indexed ORDER BY. The package's engine sorts every document of the container for each ORDER BY query (about a second
// at 100,000 documents). Cosmos instead walks a range or composite index in order and stops when the page is full. We
// imitate that for `SELECT * FROM c WHERE <filter> ORDER BY <path> [ASC|DESC], ...`: the documents sorted by the ORDER
// BY paths (the engine's own type order, ties by _rid, documents without the path left out for a single path, as the
// engine does) are kept per collection and rebuilt lazily after a write; a query walks them in order and runs the
// engine on chunks for the WHERE clause only, until it has a page and one more match. The continuation names the last
// document returned by its sort values and _rid, so it stays valid when writes rebuild the index.
const TYPE_ORDER = ["undefined", "null", "boolean", "number", "string", "array", "object"];
function typeOf(v) {
  const t = typeof v;
  if (t !== "object") return t;
  if (v === null) return "null";
  return Array.isArray(v) ? "array" : t;
}
// The engine's comparator (helpers.js), which the package does not export.
function compareValues(a, b) {
  if (a === b) return 0;
  const at = typeOf(a);
  const bt = typeOf(b);
  if (at === bt) return at === "object" ? 0 : a < b ? -1 : 1;
  return TYPE_ORDER.indexOf(at) - TYPE_ORDER.indexOf(bt) < 0 ? -1 : 1;
}

const PROPERTY = /^c((?:\.[A-Za-z_$][\w$]*|\[\s*"[^"\\]+"\s*\])+)$/;
// `SELECT * FROM c [WHERE ...] [ORDER BY ...]`: served from the sorted rows below (without ORDER BY: in _rid order).
const SCAN_QUERY = /^\s*SELECT\s+\*\s+FROM\s+c(?:\s+WHERE\s+([\s\S]+?))?(?:\s+ORDER\s+BY\s+([\s\S]+?))?\s*$/i;
const COUNT_QUERY = /^\s*SELECT\s+VALUE\s+COUNT\(\s*1\s*\)\s+FROM\s+c(?:\s+WHERE\s+([\s\S]+?))?\s*$/i;

/** `.a["b"]` (what PROPERTY captures after `c`) → ["a", "b"]. */
function pathSegments(accessors) {
  return [...accessors.matchAll(/\.([A-Za-z_$][\w$]*)|\[\s*"([^"\\]+)"\s*\]/g)].map((x) => x[1] ?? x[2]);
}

/** `c.a["b"] DESC, c.x` → [{ path: ["a","b"], desc: true }, ...], or null when it is not a plain property list. */
function parseOrderBy(text) {
  const items = [];
  for (const part of text.split(",")) {
    const m = /^\s*(\S+?)(?:\s+(ASC|DESC))?\s*$/i.exec(part);
    if (!m) return null;
    const p = PROPERTY.exec(m[1]);
    if (!p) return null;
    const path = pathSegments(p[1]);
    items.push({ path, desc: (m[2] || "").toUpperCase() === "DESC" });
  }
  return items.length ? items : null;
}

const sortedIndexes = new WeakMap(); // collection documents object → Map(order key → { version, rows, keys })

function compareKeys(order, a, b) {
  for (let i = 0; i < order.length; i += 1) {
    const r = compareValues(a.values[i], b.values[i]);
    if (r !== 0) return order[i].desc ? -r : r;
  }
  return compareValues(a.rid, b.rid);
}

function sortedRows(collection, order) {
  let perCollection = sortedIndexes.get(collection.documents);
  if (!perCollection) {
    perCollection = new Map();
    sortedIndexes.set(collection.documents, perCollection);
  }
  const key = JSON.stringify(order);
  const version = writeVersions.get(collection.documents) || 0;
  const cached = perCollection.get(key);
  if (cached && cached.version === version) return cached.rows;
  let rows = allDocuments(collection).map((doc) => ({ doc, rid: doc._rid, values: order.map((o) => valueAt(doc, o.path)) }));
  if (order.length === 1) rows = rows.filter((r) => r.values[0] !== undefined);
  rows.sort((a, b) => compareKeys(order, a, b));
  perCollection.set(key, { version, rows });
  return rows;
}

/** First row strictly after the position a continuation names (binary search in index order). */
function rowAfter(rows, order, position) {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(order, rows[mid], position) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const INDEX_TOKEN = "icrm-index:";
const CHUNK = 256;

// The package's engine is quadratic in the number of documents it is given (measured: a WHERE over 20,000 documents
// 17 s, over 40,000 more than 2 minutes), so cross-partition scans and counts run it on chunks of CHUNK documents.
function tryIndexedOrderBy(collection, req, sql, parameters) {
  const m = SCAN_QUERY.exec(sql);
  if (!m || partitionKeyFromHeader(req)) return null;
  const order = m[2] === undefined ? [] : parseOrderBy(m[2]);
  if (!order) return null;
  // Same rule as the engine and Cosmos: several ORDER BY paths need a matching composite index.
  const compositeIndexes = (collection.read().indexingPolicy || {}).compositeIndexes || [];
  if (order.length > 1 && !compositeIndexes.some((index) => index.length === order.length && index.every((p, i) =>
    p.path === `/${order[i].path.join("/")}` && p.order === (order[i].desc ? "descending" : "ascending")))) {
    return null; // the engine answers with its own error
  }
  const continuation = parseContinuation(req);
  let start = 0;
  const rows = sortedRows(collection, order);
  if (continuation && continuation.token) {
    if (!String(continuation.token).startsWith(INDEX_TOKEN)) return null;
    let position;
    try {
      position = JSON.parse(Buffer.from(String(continuation.token).slice(INDEX_TOKEN.length), "base64").toString());
    } catch {
      return { status: 400, body: { code: "BadRequest", message: "Invalid continuation token" } };
    }
    start = rowAfter(rows, order, position);
  }
  const where = m[1] ? collection.documents._getQuery(`SELECT * FROM c WHERE ${m[1]}`) : null;
  const limit = maxItemCount(req) || 100;
  const page = [];
  let last = null;
  let more = false;
  const udf = collection.documents._userDefinedFunctions();
  for (let i = start; i < rows.length && !more; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const docs = chunk.map((r) => r.doc);
    const matched = where ? new Set(where.exec(docs, { parameters, udf }).result.map((d) => d._rid)) : null;
    for (const row of chunk) {
      if (matched && !matched.has(row.rid)) continue;
      if (page.length === limit) {
        more = true;
        break;
      }
      page.push(row.doc);
      last = row;
    }
  }
  const headers = { "x-ms-item-count": String(page.length) };
  if (more) {
    const token = INDEX_TOKEN + Buffer.from(JSON.stringify({ values: last.values, rid: last.rid })).toString("base64");
    headers["x-ms-continuation"] = JSON.stringify({ token, range: { min: "", max: "FF" } });
  }
  return { status: 200, headers, body: { _rid: collection.read()._rid, Documents: page, _count: page.length } };
}

/** The top-level AND terms of a WHERE clause (outside parentheses, brackets and string literals). */
function conjuncts(where) {
  const terms = [];
  let depth = 0;
  let quote = null;
  let start = 0;
  for (let i = 0; i < where.length; i += 1) {
    const ch = where[i];
    if (quote) {
      if (ch === "\\") i += 1;
      else if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === "(" || ch === "[") depth += 1;
    else if (ch === ")" || ch === "]") depth -= 1;
    else if (depth === 0 && /^\sAND\s/i.test(where.slice(i, i + 5))) {
      terms.push(where.slice(start, i));
      start = i + 5;
      i += 4;
    }
  }
  terms.push(where.slice(start));
  return terms.map((t) => t.trim());
}

const EQUALITY = /^(c(?:\.[A-Za-z_$][\w$]*|\[\s*"[^"\\]+"\s*\])+)\s*=\s*(true|false|-?\d+(?:\.\d+)?|"[^"\\]*"|@\w+)$/;

/**
 * The documents that can match a WHERE with top-level `c.path = literal` terms, found the way an equality index finds
 * them (a plain property comparison per document, no engine): a count of the few customers with profiling consent
 * withdrawn then reads those few, not the container. The engine still evaluates the whole WHERE on what is left.
 */
function equalityCandidates(docs, where, parameters) {
  const tests = [];
  for (const term of conjuncts(where)) {
    const m = EQUALITY.exec(term);
    if (!m) continue;
    const p = PROPERTY.exec(m[1]);
    if (!p) continue;
    const path = pathSegments(p[1]);
    let value;
    if (m[2].startsWith("@")) {
      const parameter = (parameters || []).find((x) => x.name === m[2]);
      if (!parameter || (parameter.value !== null && typeof parameter.value === "object")) continue;
      value = parameter.value;
    } else {
      value = JSON.parse(m[2]);
    }
    tests.push((doc) => valueAt(doc, path) === value);
  }
  return tests.length ? docs.filter((doc) => tests.every((t) => t(doc))) : docs;
}

/** `SELECT VALUE COUNT(1) FROM c [WHERE ...]` across partitions: the WHERE runs on chunks and the matches are summed. */
function tryChunkedCount(collection, req, sql, parameters) {
  const m = COUNT_QUERY.exec(sql);
  if (!m || partitionKeyFromHeader(req)) return null;
  const docs = m[1] ? equalityCandidates(allDocuments(collection), m[1], parameters) : allDocuments(collection);
  let count = docs.length;
  if (m[1]) {
    const where = collection.documents._getQuery(`SELECT * FROM c WHERE ${m[1]}`);
    const udf = collection.documents._userDefinedFunctions();
    count = 0;
    for (let i = 0; i < docs.length; i += CHUNK) {
      count += where.exec(docs.slice(i, i + CHUNK), { parameters, udf }).result.length;
    }
  }
  return { status: 200, headers: { "x-ms-item-count": "1" }, body: { _rid: collection.read()._rid, Documents: [count], _count: 1 } };
}

// ---------------------------------------------------------------------------------------------
// `SELECT * FROM c WHERE c.id IN (...)`: the query the .NET SDK's ReadMany sends for a container partitioned by /id (ids
// as literals or parameters). Cosmos answers it from the id index; the package's engine would evaluate the IN list
// against every document of the container (seconds per query on a populated identities container). Here each id is a
// point lookup, as readDocument does, in the order of the list, skipping ids that do not exist, all in one page.
const ID_IN_QUERY = /^\s*SELECT\s+\*\s+FROM\s+c\s+WHERE\s+c\.id\s+IN\s*\(([^()]*)\)\s*$/i;
const ID_IN_ITEM = /^\s*(?:'([^'\\]*)'|"([^"\\]*)"|(@\w+))\s*$/;

function tryIdLookup(collection, collectionData, req, sql, parameters) {
  const m = ID_IN_QUERY.exec(sql);
  if (!m) return null;
  const paths = partitionPaths(collectionData);
  if (paths.length !== 1 || paths[0].length !== 1 || paths[0][0] !== "id") return null;
  const ids = [];
  for (const item of m[1].split(",")) {
    const x = ID_IN_ITEM.exec(item);
    if (!x) return null; // anything but plain string ids: let the engine decide
    if (x[3] !== undefined) {
      const parameter = (parameters || []).find((p) => p.name === x[3]);
      if (!parameter || typeof parameter.value !== "string") return null;
      ids.push(parameter.value);
    } else {
      ids.push(x[1] !== undefined ? x[1] : x[2]);
    }
  }
  const key = partitionKeyFromHeader(req);
  const limit = maxItemCount(req);
  const seen = new Set();
  const page = [];
  for (const id of ids) {
    if (seen.has(id)) continue;
    seen.add(id);
    const doc = collection.document(id, id).read();
    if (!doc || doc.id !== id) continue;
    if (key && !inPartition(doc, paths, key)) continue;
    page.push(doc);
  }
  // More matches than the caller's page size: page through them with the engine as before (rare: ReadMany asks for all).
  if (limit && page.length > limit) return null;
  return { status: 200, headers: { "x-ms-item-count": String(page.length) }, body: { _rid: collectionData._rid, Documents: page, _count: page.length } };
}

// Runs SQL over the container's documents, restricted to the logical partition named by the
// x-ms-documentdb-partitionkey header when there is one (the package itself ignores that header).
function runQuery(account, req, { dbId, collId }, sql, parameters) {
  const collection = account.database(dbId).collection(collId);
  const collectionData = collection.read();
  if (!collectionData) return notFound("Resource Not Found");

  try {
    const indexed = tryIdLookup(collection, collectionData, req, sql, parameters)
      || tryIndexedOrderBy(collection, req, sql, parameters) || tryChunkedCount(collection, req, sql, parameters);
    if (indexed) return indexed;
  } catch (err) {
    const kind = err instanceof QuerySyntaxError ? "Syntax error" : "Query failed";
    return { status: 400, body: { code: "BadRequest", message: `${kind}: ${err.message}` } };
  }

  let docs = allDocuments(collection);
  const key = partitionKeyFromHeader(req);
  if (key) {
    const paths = partitionPaths(collectionData);
    docs = docs.filter((d) => inPartition(d, paths, key));
  }

  const compositeIndexes = (collectionData.indexingPolicy || {}).compositeIndexes || [];
  let result;
  try {
    result = collection.documents._getQuery(sql).exec(docs, {
      parameters,
      udf: collection.documents._userDefinedFunctions(),
      maxItemCount: maxItemCount(req),
      continuation: parseContinuation(req),
      compositeIndexes,
    });
  } catch (err) {
    // Syntax errors and constructs the engine cannot run (GROUP BY, OFFSET/LIMIT...) are the caller's problem.
    const kind = err instanceof QuerySyntaxError ? "Syntax error" : "Query failed";
    return { status: 400, body: { code: "BadRequest", message: `${kind}: ${err.message}` } };
  }
  const headers = { "x-ms-item-count": String(result.result.length) };
  if (result.continuation) headers["x-ms-continuation"] = JSON.stringify(result.continuation);
  return {
    status: 200,
    headers,
    body: { _rid: collectionData._rid, Documents: result.result, _count: result.result.length },
  };
}

function readDocument(account, req, { dbId, collId, docId }) {
  const collection = account.database(dbId).collection(collId);
  const collectionData = collection.read();
  if (!collectionData) return notFound("Resource Not Found");
  const key = partitionKeyFromHeader(req);
  const doc = collection.document(docId, storageKey(key, docId)).read();
  if (!doc || doc.id !== docId && doc._rid !== docId) return notFound();
  if (key && !inPartition(doc, partitionPaths(collectionData), key)) return notFound();

  const ifNoneMatch = header(req, "if-none-match");
  if (ifNoneMatch && (ifNoneMatch === "*" || unquote(ifNoneMatch) === unquote(doc._etag))) {
    return { status: 304, headers: { etag: doc._etag }, body: null };
  }
  return { status: 200, body: doc };
}

// Change feed, "latest version" mode: each document at most once, at the LSN of its latest write.
function readChangeFeed(account, req, { dbId, collId }) {
  const collection = account.database(dbId).collection(collId);
  const collectionData = collection.read();
  if (!collectionData) return notFound("Resource Not Found");

  const etag = (lsn) => `"${lsn}"`;
  const ifNoneMatch = header(req, "if-none-match");
  if (ifNoneMatch && ifNoneMatch.trim() === "*") {
    // Start from now: nothing yet, but hand out the current position as the continuation.
    return { status: 304, headers: { etag: etag(lastLsn), "x-ms-item-count": "0" }, body: null };
  }
  let since = 0;
  if (ifNoneMatch) {
    const n = parseInt(unquote(ifNoneMatch), 10);
    since = Number.isFinite(n) ? n : 0;
  }
  let modifiedSince = null;
  const ims = header(req, "if-modified-since");
  if (ims && !ifNoneMatch) {
    const t = Date.parse(ims);
    if (Number.isFinite(t)) modifiedSince = Math.floor(t / 1000);
  }

  let docs = allDocuments(collection)
    .map((d) => ({ doc: d, lsn: lsnOf.get(d) || 0 }))
    .filter((x) => x.lsn > since && (modifiedSince === null || x.doc._ts >= modifiedSince));
  const key = partitionKeyFromHeader(req);
  if (key) {
    const paths = partitionPaths(collectionData);
    docs = docs.filter((x) => inPartition(x.doc, paths, key));
  }
  docs.sort((a, b) => a.lsn - b.lsn);

  const limit = maxItemCount(req) || 100;
  const page = docs.slice(0, limit);
  if (page.length === 0) {
    // Nothing new: keep the caller's position (or move it to now when it started from the beginning).
    return { status: 304, headers: { etag: etag(ifNoneMatch ? since : lastLsn), "x-ms-item-count": "0" }, body: null };
  }
  const position = page.length < docs.length ? page[page.length - 1].lsn : Math.max(lastLsn, page[page.length - 1].lsn);
  const out = page.map((x) => ({ ...x.doc, _lsn: x.lsn }));
  return {
    status: 200,
    headers: { etag: etag(position), "x-ms-item-count": String(out.length), lsn: String(position) },
    body: { _rid: collectionData._rid, Documents: out, _count: out.length },
  };
}

async function delegate(account, req, res) {
  const found = route(req);
  if (!found) return { status: 400, body: { code: "BadRequest", message: "no route" } };
  const [params, handler] = found;
  const isBatch = isTrue(req, "x-ms-cosmos-is-batch-request");
  try {
    const body = await handler(account, req, res, params);
    return { status: res.statusCode, body };
  } catch (err) {
    if (isBatch) {
      // The .NET SDK sends TransactionalBatch / bulk operations in a binary format this server cannot read.
      return {
        status: 400,
        body: { code: "BadRequest", message: `TransactionalBatch and bulk execution are not supported by the local Cosmos stand-in (${err.message})` },
      };
    }
    // Requests naming a missing database/collection make the package dereference undefined.
    if (err instanceof TypeError && /undefined|null/.test(err.message)) return notFound("Resource Not Found");
    return { status: 500, body: { code: "InternalServerError", message: err.message } };
  }
}

// Azure answers a document request whose container or database does not exist with 404 and sub-status 1003
// ("owner resource does not exist"), which tells a missing item from a missing container. Imitate it, so a client can
// see that the server came back empty after a restart.
function collectionExists(account, { dbId, collId }) {
  try {
    return Boolean(account.database(dbId).collection(collId).read());
  } catch {
    return false;
  }
}

async function dispatch(account, req, res) {
  const result = await dispatchRequest(account, req, res);
  const m = DOCS_PATH.exec(normalisePath(req.url));
  if (m && result.status === 404 && !collectionExists(account, { dbId: decodeURIComponent(m[1]), collId: decodeURIComponent(m[2]) })) {
    result.headers = { ...(result.headers || {}), "x-ms-substatus": "1003" };
  }
  return result;
}

async function dispatchRequest(account, req, res) {
  const pathname = normalisePath(req.url);
  const m = DOCS_PATH.exec(pathname);
  if (m) {
    const params = {
      dbId: decodeURIComponent(m[1]),
      collId: decodeURIComponent(m[2]),
      docId: m[3] === undefined ? undefined : decodeURIComponent(m[3]),
    };
    const isQuery = req.method === "POST" && (isTrue(req, "x-ms-documentdb-isquery") ||
      isTrue(req, "x-ms-cosmos-is-query-plan-request") ||
      String(req.headers["content-type"] || "").startsWith("application/query+json"));
    if (isQuery && !params.docId) return queryDocuments(account, req, params);
    if (req.method === "GET" && !params.docId && req.headers["a-im"]) return readChangeFeed(account, req, params);
    // Read feed (iterator without query text): same as SELECT * so the partition-key header is honoured.
    if (req.method === "GET" && !params.docId) return runQuery(account, req, params, "SELECT * FROM c", []);
    if (req.method === "GET" && params.docId) return readDocument(account, req, params);
  }
  const result = await delegate(account, req, res);
  // The package's own change-feed imitation for other feeds (partition key ranges): "nothing changed".
  if (req.headers["a-im"] && result.status === 200) {
    if (req.headers["if-none-match"]) result.status = 304;
    result.headers = { ...(result.headers || {}), etag: "1" };
  }
  return result;
}

const DEBUG = process.env.COSMOS_DEBUG === "1";

function send(req, res, { status, headers = {}, body }) {
  if (DEBUG) console.error(`${req.method} ${req.url} -> ${status}`, JSON.stringify(req.headers), JSON.stringify(headers));
  let payload = body;
  if (status >= 400) {
    payload = payload && typeof payload === "object" ? { ...payload } : {};
    if (!payload.code) payload.code = ERROR_CODES[status] || "Error";
    if (payload.message === undefined) payload.message = "";
  }
  res.statusCode = status;
  if (payload && payload._etag && !headers.etag) res.setHeader("etag", payload._etag);
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader("content-type", "application/json");
  res.setHeader("content-location", `${req.socket.encrypted ? "https" : "http"}://${req.headers.host}${req.url}`);
  res.setHeader("connection", "keep-alive");
  res.setHeader("x-ms-activity-id", randomUUID());
  res.setHeader("x-ms-request-charge", "1");
  res.setHeader("x-ms-gatewayversion", "version=2.14.0");
  if (req.headers["x-ms-documentdb-populatequerymetrics"]) {
    res.setHeader("x-ms-documentdb-query-metrics", "totalExecutionTimeInMs=0.00;queryCompileTimeInMs=0.00;queryLogicalPlanBuildTimeInMs=0.00;queryPhysicalPlanBuildTimeInMs=0.00;queryOptimizationTimeInMs=0.00;VMExecutionTimeInMs=0.00;indexLookupTimeInMs=0.00;documentLoadTimeInMs=0.00;systemFunctionExecuteTimeInMs=0.00;userFunctionExecuteTimeInMs=0.00;retrievedDocumentCount=0;retrievedDocumentSize=0;outputDocumentCount=1;outputDocumentSize=0;writeOutputTimeInMs=0.00;indexUtilizationRatio=0.00");
  }
  if (status === 304 || status === 204 || payload === null || payload === undefined) {
    res.end();
  } else {
    res.end(JSON.stringify(payload));
  }
}

/**
 * Creates (but does not start) the wrapped Cosmos server. `ssl: false` serves plain HTTP.
 * Call `.listen(port, host)`; the in-memory account is created once the socket is bound.
 */
export function createCosmosServer({ ssl = true } = {}) {
  let account;
  const onRequest = (req, res) => {
    dispatch(account, req, res)
      .then((result) => send(req, res, result))
      .catch((err) => {
        console.error(err);
        if (!res.headersSent) send(req, res, { status: 500, body: { code: "InternalServerError", message: err.message } });
      });
  };
  const server = ssl
    ? https.createServer({
      cert: readFileSync(path.join(pkgDir, "cert.pem")),
      key: readFileSync(path.join(pkgDir, "key.pem")),
      rejectUnauthorized: false,
      requestCert: false,
    }, onRequest)
    : http.createServer(onRequest);
  // Longer than the .NET HttpClient's idle pooling, so the client closes idle connections, not us
  // (avoids a reused connection being reset mid-request).
  if (DEBUG) server.on("connection", (socket) => console.error(`new connection from port ${socket.remotePort}`));
  server.keepAliveTimeout = 150_000;
  server.headersTimeout = 155_000;
  server.on("listening", () => {
    const { address, port } = server.address();
    const host = address === "0.0.0.0" || address === "::" ? "localhost" : address;
    account = new Account(host.includes(":") ? `[${host}]` : host, port);
    const endpoint = `${ssl ? "https" : "http"}://${host.includes(":") ? `[${host}]` : host}:${port}/`;
    const meta = account.read();
    for (const loc of [...meta.writableLocations, ...meta.readableLocations]) loc.databaseAccountEndpoint = endpoint;
  });
  return server;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

function parseArgs(argv) {
  const args = { port: parseInt(process.env.COSMOS_PORT || "8081", 10), host: "127.0.0.1", ssl: true };
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a === "--port" || a === "-p") args.port = parseInt(argv[++i], 10);
    else if (a === "--host") args.host = argv[++i];
    else if (a === "--no-ssl") args.ssl = false;
    else if (a === "--help" || a === "-h") args.help = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new Error("--port must be 0..65535");
  if (!LOOPBACK.has(args.host)) throw new Error("--host must be a loopback address (127.0.0.1, ::1, localhost)");
  return args;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`cosmos-server: ${err.message}`);
    process.exit(2);
  }
  if (args.help) {
    console.log("Usage: node cosmos-server.mjs [--port N (default $COSMOS_PORT or 8081)] [--host 127.0.0.1] [--no-ssl]");
    process.exit(0);
  }
  const server = createCosmosServer({ ssl: args.ssl });
  server.on("error", (err) => {
    console.error(`cosmos-server: ${err.message}`);
    process.exit(1);
  });
  server.listen(args.port, args.host, () => {
    const { port } = server.address();
    console.log(`Ready to accept HTTP${args.ssl ? "S" : ""} connections at ${args.host}:${port}`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
