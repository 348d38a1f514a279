// The ledger's cryptography in the browser (WebCrypto only; no key ever leaves the browser).
//
// canonical(obj): the exact bytes of gep.ledger.canonical.canonical (compact JSON, keys sorted
//   by code point, UTF-8, short escapes, other control characters as \u00xx, no floats);
//   integers are Numbers within 2^53 or BigInts (amounts up to 2^62).
// Requests are signed over "gep-ledger/v1 request\n" + canonical(request) with Ed25519
//   (RFC 8032), as gep.ledger.canonical.signing_message.
// Certificates are checked as gep.ledger.certificate.verify: canonical record, leaf hash, RFC 9162
//   inclusion, the registry-signed tree head (pinned to the registry key the page was served with),
//   the request's signature (single or batch), the statement's identity fields.

import { api, el, t } from "./common.js";

export const SIGNING_DOMAIN = "gep-ledger/v1 request\n";
export const READ_DOMAIN = "gep-server/v1 read\n";
export const BATCH_DOMAIN = "gep-ledger/v1 request batch\n";
export const HEAD_DOMAIN = "gep-ledger/v1 tree head\n";
export const HEAD_FIELDS = ["ledger", "tree_size", "root_hash", "timestamp", "key_id"];
export const CERT_FORMAT = "gep-ledger-certificate/1";
const enc = new TextEncoder();

function cmpCodePoints(a, b) {
  // Python sorts str keys by code point; JS's default sort compares UTF-16 units.
  const x = Array.from(a), y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
}

function str(s) {
  if (/[\ud800-\udfff]/u.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ""))) throw new Error("lone surrogate in a ledger document");
  return JSON.stringify(s); // same escapes as Python's json.dumps(ensure_ascii=False) for well-formed strings
}

export function canonical(value, path = "$") {
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") return str(value);
  if (typeof value === "bigint") {
    if (value >= 2n ** 63n || value <= -(2n ** 63n)) throw new Error(`${path}: integer does not fit in 64 bits`);
    return value.toString();
  }
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new Error(`${path}: ${value} is not a safe integer (use a BigInt; floats are refused)`);
    return String(value);
  }
  if (Array.isArray(value)) return "[" + value.map((v, i) => canonical(v, `${path}[${i}]`)).join(",") + "]";
  if (typeof value === "object") {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort(cmpCodePoints);
    return "{" + keys.map((k) => str(k) + ":" + canonical(value[k], `${path}.${k}`)).join(",") + "}";
  }
  throw new Error(`${path}: a ${typeof value} cannot be part of a ledger document`);
}

export const canonicalBytes = (obj) => enc.encode(canonical(obj));

export function hex(bytes) {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function unhex(text) {
  if (!/^([0-9a-f]{2})*$/.test(text)) throw new Error("not lowercase hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
  return out;
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export const leafHash = (data) => sha256(concat(new Uint8Array([0]), data));
const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));
const equal = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

// RFC 9162 section 2.1.3.2 (same algorithm as gep.ledger.merkle.root_from_path): the root an audit
// path leads to, or null when the path does not fit the tree size.
export async function rootFromPath(leaf, index, size, path) {
  if (index < 0 || index >= size) return null;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

export async function verifyInclusion(leaf, index, size, path, root) {
  const r = await rootFromPath(leaf, index, size, path);
  return r !== null && equal(r, root);
}

// RFC 9162 section 2.1.4.2 (same algorithm as gep.ledger.merkle.verify_consistency).
export async function verifyConsistency(first, second, firstRoot, secondRoot, path) {
  if (first > second || first < 0) return false;
  if (first === second) return path.length === 0 && equal(firstRoot, secondRoot);
  if (first === 0) return path.length === 0;
  if (!path.length) return false;
  if ((first & (first - 1)) === 0) path = [firstRoot, ...path];
  let fn = first - 1, sn = second - 1;
  while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return equal(fr, firstRoot) && equal(sr, secondRoot) && sn === 0;
}

export async function verifySignature(publicHex, message, signatureHex) {
  try {
    const key = await crypto.subtle.importKey("raw", unhex(publicHex), { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, unhex(signatureHex), message);
  } catch (e) {
    return false;
  }
}

// A request's signature: 128 hex digits over SIGNING_DOMAIN + canonical(request), or a batch
// signature {index, size, path, signature} over BATCH_DOMAIN + the root of the batch's signing
// messages (gep.ledger.rules.authentic).
export async function requestSignatureOk(request, signature) {
  const msg = concat(enc.encode(SIGNING_DOMAIN), canonicalBytes(request));
  if (typeof signature === "string") return verifySignature(request.signer, msg, signature);
  if (!signature || typeof signature !== "object" || typeof signature.signature !== "string") return false;
  const root = await rootFromPath(await leafHash(msg), signature.index, signature.size, signature.path.map(unhex));
  return root !== null && verifySignature(request.signer, concat(enc.encode(BATCH_DOMAIN), root), signature.signature);
}

// The checks of gep.ledger.certificate.verify, in the browser. ``registry``: the key to pin (hex;
// the page passes the key of the ledger it was served with). Returns {ok, checks: [{check, ok, detail}], record}.
export async function verifyCertificate(cert, registry = null, ledger = null) {
  const checks = [];
  const check = (name, ok, detail = "") => { checks.push({ check: name, ok: !!ok, detail }); return !!ok; };
  let record = null;
  try {
    if (!check("format", cert && cert.format === CERT_FORMAT, CERT_FORMAT)) return { ok: false, checks, record };
    if (registry) check("registry", cert.registry === registry, `${cert.registry.slice(0, 16)}…`);
    if (ledger) check("this_ledger", cert.ledger === ledger, cert.ledger);  // one key may sign a test ledger beside this one
    const data = enc.encode(cert.record);
    try {
      record = parseExact(cert.record);
      check("record", canonical(record) === cert.record, "canonical JSON");
    } catch (e) {
      check("record", false, String(e.message || e));
    }
    const leaf = await leafHash(data);
    check("leaf", hex(leaf) === cert.leaf_hash, hex(leaf));
    const head = cert.head, size = head.tree_size;
    check("size", cert.proof.tree_size === size && (!record || cert.proof.leaf_index === Number(record.seq) - 1),
          `${cert.proof.leaf_index + 1} / ${cert.proof.tree_size}, head ${size}`);
    const ok = await verifyInclusion(leaf, cert.proof.leaf_index, size, cert.proof.path.map(unhex), unhex(head.root_hash));
    check("inclusion", ok, `${cert.proof.leaf_index + 1} / ${size} → ${head.root_hash.slice(0, 16)}…`);
    const fields = {};
    for (const k of HEAD_FIELDS) fields[k] = head[k];
    const keyId = hex(await sha256(unhex(cert.registry)));
    const headMsg = concat(enc.encode(HEAD_DOMAIN), canonicalBytes(fields));
    check("head_signature", head.key_id === keyId && head.ledger === cert.ledger && await verifySignature(cert.registry, headMsg, head.signature),
          `Ed25519 ${keyId.slice(0, 16)}…`);
    if (record) {
      const req = record.request;
      check("ledger", req.ledger === cert.ledger, req.ledger);
      check("signature", await requestSignatureOk(req, record.signature), `Ed25519 ${req.signer.slice(0, 16)}…`);
      const st = cert.statement || {};
      let derived = null;
      try { derived = statementOf(record); } catch (e) { /* not a certified kind: the comparison fails */ }
      check("statement", derived !== null && canonical(derived) === canonical(st), `${st.kind} #${st.seq}: ${st.description || ""}`);
    }
  } catch (e) {
    check("fields", false, String(e.message || e));
  }
  return { ok: checks.every((c) => c.ok), checks, record };
}

// What a certificate states, derived from its record alone: as gep.ledger.certificate.statement_of (and, for the
// description, gep.ledger.describe.describe) in Python, field for field, so that a statement edited in the file fails.
const CERT_KINDS = { issue: "issuance", allocate: "allocation", transfer: "transfer", retire: "retirement", cancel: "cancellation",
                     surrender: "surrender", bid: "trade", settle: "trade" };
const UNITS = { capacity: ["t/yr", 1000n], carbon: ["tCO2e", 1000n], energy: ["tce", 1000n], emission: ["t/yr", 1000n], cash: ["CNY", 100n] };

function display(instrument, amount) {
  const [unit, per] = UNITS[instrument.split("/")[0]];
  const a = BigInt(amount), sign = a < 0n ? "-" : "", m = a < 0n ? -a : a;
  const whole = m / per, frac = (m % per).toString().padStart(per.toString().length - 1, "0");
  if (unit === "CNY") return `${sign}${whole}.${frac} CNY`;
  const f = frac.replace(/0+$/, "");
  return `${sign}${whole}${f ? "." + f : ""} ${unit}`;
}

function tradeText(t) {
  const ratio = t.ratio !== "1" ? ` (ratio 1:${t.ratio}, ${display(t.instrument, t.received)} received)` : "";
  return `${t.seller} → ${t.buyer} ${display(t.instrument, t.quantity)} at ${t.price} for ${display("cash/CNY", t.payment)}${ratio}`;
}

function describe(record) {
  const r = record.request, e = record.effects, t = r.type;
  if (t === "bid") {
    const done = (e.trades || []).map(tradeText).join("; ");
    return `bid by ${r.account} on listing ${r.listing}: ${display(r.instrument, r.quantity)} at ${r.price}` + (done ? ` — ${done}` : "");
  }
  if (t === "settle") return `settle listing ${r.listing}: ${(e.trades || []).map(tradeText).join("; ") || "no trade"}`;
  if (t === "allocate") {
    const fee = e.fee ? `, paid-use fee ${display("cash/CNY", e.fee.fen)} to ${e.fee.payee}` : "";
    return `allocate ${display(r.instrument, r.amount)} of ${r.instrument} to ${r.to}${fee}`;
  }
  if (t === "surrender") return `surrender ${display(r.instrument, r.amount)} of ${r.instrument} by ${r.from} against obligation ${r.obligation}`;
  const amount = display(r.instrument, r.amount);
  if (t === "issue") {
    const buf = (e.buffer || {}).amount || 0;
    return `issue ${amount} of ${r.instrument} to ${r.to}` + (buf ? `, ${display(r.instrument, buf)} withheld into sys:buffer` : "");
  }
  if (t === "transfer") {
    const price = "price" in r ? ` at ${r.price} CNY/(${UNITS[r.instrument.split("/")[0]][0]})` : "";
    const terms = r.dvp && "terms" in r.dvp ? `, terms ${r.dvp.terms.slice(0, 12)}…` : "";
    const leg = r.dvp ? ` (DvP batch ${r.dvp.batch}, ${r.dvp.legs} legs${terms})` : "";
    return `transfer ${amount} of ${r.instrument} ${r.from} → ${r.to}${price}${leg}`;
  }
  if (t === "retire") return `retire ${amount} of ${r.instrument} from ${r.from}` + ("beneficiary" in r ? ` for ${r.beneficiary}` : "");
  if (t === "cancel") return `cancel ${amount} of ${r.instrument} from ${r.from}`;
  return t;
}

export function statementOf(record) {
  const r = record.request, e = record.effects, kind = CERT_KINDS[r.type];
  if (!kind) throw new Error(`a ${r.type} is not certified`);
  const out = { kind, seq: record.seq, time: record.time, id: r.id, description: describe(record) };
  if (kind === "trade") {
    if (!(e.trades || []).length) throw new Error("no trade settled");
    out.trades = e.trades.map((t) => Object.fromEntries(["instrument", "seller", "buyer", "quantity", "received", "price", "payment", "ratio"].map((k) => [k, t[k]])));
    return out;
  }
  Object.assign(out, { instrument: r.instrument, amount: r.amount, display: display(r.instrument, r.amount) });
  if ("from" in r) out.from = r.from;
  out.to = "to" in r ? r.to : kind === "retirement" || kind === "surrender" ? "sys:retirement" : kind === "cancellation" ? "sys:cancellation" : null;
  for (const name of ["beneficiary", "price", "obligation"]) if (name in r) out[name] = r[name];
  if ("serials" in e) out.serials = e.serials;
  else if ("moves" in e) out.serials = e.moves.filter((m) => m[0] === r.instrument).flatMap((m) => m[4]);
  return out;
}

// JSON.parse that keeps integers beyond 2^53 exact (as BigInt), so re-encoding gives the same bytes.
export function parseExact(text) {
  const marked = text.replace(/("(?:[^"\\]|\\.)*")|(-?\d{16,})(?![\d.eE])/g, (m, s, big) => (s ? s : `{"$big":"${big}"}`));
  return JSON.parse(marked, (k, v) => (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && "$big" in v ? BigInt(v.$big) : v));
}

// ------------------------------------------------------------------ keys (IndexedDB, non-extractable)

const DB = "gep-keys", STORE = "keys";

function idb() {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function idbDo(mode, fn) {
  const db = await idb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = fn(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(req && req.result);
    tx.onerror = () => reject(tx.error);
  });
}

function pemToDer(pem) {
  const m = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem);
  if (!m) throw new Error("not a PKCS#8 PEM private key (the .key file of gep ledger keygen)");
  const bin = atob(m[1].replace(/\s+/g, ""));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

function b64urlToBytes(s) {
  const b = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

// Import a PEM private key: learn its public key, then keep only a non-extractable copy.
export async function importKey(pem) {
  const der = pemToDer(pem);
  const tmp = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", tmp);
  const publicHex = hex(b64urlToBytes(jwk.x));
  const key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  der.fill(0);
  await idbDo("readwrite", (s) => s.put({ key, publicHex }, "current"));
  return publicHex;
}

export async function generateKey() {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const b64 = btoa(String.fromCharCode(...der)).replace(/(.{64})/g, "$1\n");
  const pem = `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
  const publicHex = await importKey(pem);
  return { pem, publicHex };
}

export const currentKey = () => idbDo("readonly", (s) => s.get("current"));
export const forgetKey = () => idbDo("readwrite", (s) => s.delete("current"));

export async function sign(key, bytes) {
  return hex(await crypto.subtle.sign({ name: "Ed25519" }, key, bytes));
}

export async function signRequest(stored, request) {
  const msg = concat(enc.encode(SIGNING_DOMAIN), canonicalBytes(request));
  return { request, signature: await sign(stored.key, msg) };
}

// Authorization header of a signed read (gep.server.auth).
export async function readHeader(stored, method, url) {
  const u = new URL(url, location.href);
  const time = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const msg = enc.encode(`${READ_DOMAIN}${method}\n${u.pathname}\n${u.search.slice(1)}\n${time}`);
  return `GEP-Ed25519 key=${stored.publicHex}, time=${time}, sig=${await sign(stored.key, msg)}`;
}

export function newId() {
  return "web-" + hex(crypto.getRandomValues(new Uint8Array(12)));
}

// GET a JSON resource, signed with the stored key when the ledger is not public (gep.server.auth).
export async function signedGet(url, access) {
  const stored = access !== "public" ? await currentKey() : null;
  const headers = stored ? { Authorization: await readHeader(stored, "GET", url) } : {};
  return (await api(url, { headers })).body;
}

// The checks of a certificate as a list (✔/✘ per check, in the page language), with the verdict first.
export function checksList(result) {
  return el("div", {},
    el("p", { class: result.ok ? "ok" : "error", id: "verdict", text: result.ok ? `✔ ${t("reg.verified")}` : `✘ ${t("reg.not_verified")}` }),
    el("ul", { class: "checks" }, result.checks.map((c) => el("li", { class: c.ok ? "ok" : "error" }, `${c.ok ? "✔" : "✘"} ${t(`check.${c.check}`)} `, el("code", { text: c.detail })))));
}

// A sealed bid's commitment, as gep.ledger.auction.commitment: SHA-256 (hex) of the canonical
// {account, listing, price, quantity, salt}; the salt is 256 fresh random bits.
export async function sealedCommitment(listing, account, quantity, price, salt) {
  return hex(await sha256(canonicalBytes({ listing, account, quantity, price, salt })));
}

export const newSalt = () => hex(crypto.getRandomValues(new Uint8Array(32)));

// Openings of sealed bids are kept in this browser (IndexedDB) until revealed: without one the bid cannot be revealed.
export const keepOpening = (commitSeq, opening) => idbDo("readwrite", (s) => s.put(opening, `opening-${commitSeq}`));
export const openingOf = (commitSeq) => idbDo("readonly", (s) => s.get(`opening-${commitSeq}`));
