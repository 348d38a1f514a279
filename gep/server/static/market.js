// Market page: listings, order entry (a sell or buy listing, fixed, negotiated or by auction; a bid, a sealed
// bid and its reveal, a settlement; surrender against a compliance obligation) signed in
// the browser with the imported key, trades with their certificates checked in the page, the price index
// (VWAP, high/low, volume) as an SVG chart, and the account's statement. Requests are built as
// gep.ledger.market.Market builds them; amounts and prices are parsed by the server first (GET
// /api/v1/ledger/amounts) and the exact request is shown before it is signed.
import { $, DATA, el, t, table, api, showError, ready, guard, number } from "./common.js";
import { canonical, checksList, currentKey, keepOpening, newId, newSalt, openingOf, sealedCommitment, signedGet, signRequest,
         verifyCertificate } from "./ledger.js";

const get = (url) => signedGet(url, DATA.access);
const SVG = "http://www.w3.org/2000/svg";
let stored = null;
let pending = null;
let selected = null;
let now = null;

const account = () => $("#account-id").value.trim();

async function parse(instrument, amount, price) {
  const q = new URLSearchParams({ instrument, amount });
  if (price) q.set("price", price);
  return (await api(`/api/v1/ledger/amounts?${q}`)).body;
}

function request(type, fields) {
  if (!stored) throw new Error(t("acct.no_key"));
  if (!account()) throw new Error(t("acct.id"));
  const r = { v: DATA.ledger.version, ledger: DATA.ledger.ledger, id: newId(), type, signer: stored.publicHex };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null && v !== "") r[k] = v;
  return r;
}

function review(req, summary, after = null) {
  pending = { req, after };
  $("#review").hidden = false;
  $("#review-json").textContent = `${summary}\n\n${canonical(req)}`;
  $("#submit-result").replaceChildren();
  $("#review").scrollIntoView();
}

async function submit() {
  if (!pending) return;
  const { req, after } = pending;
  const body = canonical(await signRequest(stored, req));
  const r = await api("/api/v1/ledger/requests", { method: "POST", headers: { "Content-Type": "application/json" }, body, accept: [409] });
  pending = null;
  if (after) await after(r.body);
  $("#submit-result").replaceChildren(el("p", { class: "ok", id: "submitted", "data-seq": r.body.seq }, `${t("acct.submitted")} #${r.body.seq}`));
  await refresh();
}

// ------------------------------------------------------------------ listings and the order book

async function showListings() {
  const rows = await get("/api/v1/market/listings");
  $("#listings").replaceChildren(rows.length ? table([
    { label: "#", num: true, value: (x) => x.id },
    { label: t("mkt.side"), value: (x) => t(`sideshort.${x.side}`) },
    { label: t("reg.instrument"), value: (x) => x.instrument },
    { label: t("mkt.mechanism"), value: (x) => t(`mech.${x.mechanism}`) },
    { label: t("mkt.seller"), value: (x) => x.account },
    { label: t("mkt.remaining"), num: true, value: (x) => x.display.remaining },
    { label: t("mkt.price_reserve"), num: true, value: (x) => x.price },
    { label: t("mkt.closes"), value: (x) => x.closes.replace("T", " ").slice(0, 19) },
    { label: t("mkt.status"), value: (x) => x.status },
    { label: "", value: (x) => el("button", { type: "button", class: "verify pick", "data-listing": x.id, onclick: () => showBook(x.id), text: t("acct.open") }) },
  ], rows.slice().reverse()) : el("p", { class: "note", text: t("common.none") }));
  const instruments = [...new Set(rows.map((x) => x.instrument))];
  const sel = $("#chart-instrument");
  const keep = sel.value;
  sel.replaceChildren(...instruments.map((i) => el("option", { value: i, text: i })));
  if (instruments.includes(keep)) sel.value = keep;
}

async function showBook(id) {
  selected = await get(`/api/v1/market/listings/${id}`);
  const b = selected;
  $("#book-id").textContent = `#${id}`;
  const sealed = b.mechanism === "sealed";
  const kv = [[t("reg.instrument"), b.instrument], [t("mkt.mechanism"), t(`mech.${b.mechanism}`)], [t("mkt.seller"), b.account],
              [t("mkt.remaining"), b.display.remaining], [t("mkt.price_reserve"), b.price], [t("mkt.closes"), b.closes],
              [t("mkt.phase"), t(`phase.${b.phase}`)]];
  if (b.minimum_bid) kv.push([t("mkt.minimum_bid"), b.minimum_bid]);
  const bids = b.bids.length ? table([
    { label: "#", num: true, value: (x) => x.id },
    { label: t("mkt.buyer"), value: (x) => x.account },
    { label: t("mkt.quantity"), num: true, value: (x) => x.quantity ?? "—" },
    { label: t("mkt.price"), num: true, value: (x) => x.price ?? "—" },
    { label: t("mkt.status"), value: (x) => x.status },
    { label: "", value: (x) => (x.status === "sealed" && b.phase === "revealing"
      ? el("button", { type: "button", class: "verify reveal", "data-commit": x.id, onclick: () => reveal(x.id).catch((e) => showError($("#submit-result"), e)), text: t("mkt.reveal") }) : "") },
  ], b.bids) : el("p", { class: "note", text: t("common.none") });
  $("#book").replaceChildren(el("dl", { class: "kv" }, kv.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })])),
    el("h2", { text: t("mkt.bids") }), bids);
  $("#bid-form").hidden = b.status !== "open" || b.phase !== "bidding";
  $("#bid-form input[name=escrow]").hidden = !sealed;
  $("#settle-button").hidden = b.status !== "open" || b.phase !== "awaiting settlement";
}

// ------------------------------------------------------------------ orders

async function newListing(form) {
  const f = Object.fromEntries(new FormData(form).entries());
  const p = await parse(f.instrument.trim(), f.quantity, f.price);
  const closes = new Date(Date.parse(now) + Number(f.hours) * 3600e3);
  const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
  const fields = { account: account(), side: f.side, instrument: p.instrument, quantity: BigInt(p.amount_text), price: p.price, mechanism: f.mechanism,
                   closes: iso(closes) };
  if (f.mechanism === "negotiated") fields.counterparty = f.counterparty.trim();
  if (f.mechanism === "ascending" || f.mechanism === "sealed") fields.settle_by = iso(new Date(closes.getTime() + 7 * 86400e3));
  if (f.mechanism === "sealed") fields.reveal_until = iso(new Date(closes.getTime() + 3600e3));
  if (f.increment) fields.increment = (await parse(p.instrument, "1", f.increment)).price;
  const what = f.side === "buy" ? `${t("sideshort.buy")} ${p.display} @ ${p.price} ${p.price_unit} = ${p.notional_cny} CNY` : `${p.display} @ ${p.price} ${p.price_unit}`;
  review(request("list", fields), f.mechanism === "negotiated" ? `${what} → ${fields.counterparty}` : what);
}

async function bid(form) {
  const f = Object.fromEntries(new FormData(form).entries());
  const b = selected;
  const p = await parse(b.instrument, f.quantity, f.price);
  if (b.mechanism !== "sealed") {
    review(request("bid", { listing: b.id, account: account(), instrument: b.instrument, quantity: BigInt(p.amount_text), price: p.price }),
           `${p.display} @ ${p.price} ${p.price_unit} = ${p.notional_cny} CNY`);
    return;
  }
  // sealed: sign only the commitment; keep the opening in this browser for the reveal
  const escrow = await parse("cash/CNY", f.escrow || `${p.notional_cny} CNY`);
  const opening = { listing: b.id, account: account(), quantity: Number(p.amount_text), price: p.price, salt: newSalt() };
  const commitment = await sealedCommitment(opening.listing, opening.account, opening.quantity, opening.price, opening.salt);
  review(request("commit", { listing: b.id, account: account(), instrument: b.instrument, commitment, escrow: BigInt(escrow.amount_text) }),
         `${t("mech.sealed")}: ${p.display} @ ${p.price} (${t("mkt.escrow")} ${escrow.display})\n${t("mkt.sealed_kept")}`,
         async (res) => keepOpening(res.seq, opening));
}

async function reveal(commitSeq) {
  const o = await openingOf(commitSeq);
  if (!o) throw new Error(`no opening of sealed bid ${commitSeq} in this browser`);
  review(request("reveal", { listing: o.listing, commit: commitSeq, quantity: o.quantity, price: o.price, salt: o.salt }), `${t("mkt.reveal")} #${commitSeq}`);
}

async function settle() {
  review(request("settle", { listing: selected.id }), `${t("mkt.settle")} #${selected.id}`);
}

// ------------------------------------------------------------------ trades, certificates, prices

async function showTrades() {
  const rows = await get("/api/v1/market/trades");
  $("#trades").replaceChildren(rows.length ? table([
    { label: t("reg.seq"), num: true, value: (x) => x.seq },
    { label: t("reg.instrument"), value: (x) => x.instrument },
    { label: t("mkt.seller"), value: (x) => x.seller },
    { label: t("mkt.buyer"), value: (x) => x.buyer },
    { label: t("mkt.quantity"), num: true, value: (x) => x.display.quantity },
    { label: t("mkt.price"), num: true, value: (x) => x.price },
    { label: t("mkt.payment"), num: true, value: (x) => x.display.payment },
    { label: t("reg.certificate"), value: (x) => el("button", { type: "button", class: "verify", "data-seq": x.seq, onclick: () => checkTrade(x.seq), text: t("reg.verify") }) },
  ], rows.slice().reverse()) : el("p", { class: "note", text: t("common.none") }));
}

async function checkTrade(seq) {
  try {
    const cert = await get(`/api/v1/ledger/transactions/${seq}/certificate`);
    $("#cert-result").replaceChildren(el("h2", { text: `${t("reg.certificate")} #${seq}` }), checksList(await verifyCertificate(cert, DATA.ledger.registry, DATA.ledger.ledger)));
  } catch (e) {
    showError($("#cert-result"), e);
  }
}

function svg(tag, attrs) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  return n;
}

// VWAP line with high-low bars per period and volume bars underneath (an SVG drawn from the market index).
function chart(rows) {
  const W = 560, H = 220, L = 56, R = 10, T = 10, V = 50;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H + V}`, class: "chart", role: "img" });
  if (!rows.length) return s;
  const hi = Math.max(...rows.map((r) => Number(r.high))), lo = Math.min(...rows.map((r) => Number(r.low)));
  const span = hi - lo || Math.max(1, hi * 0.1);
  const y = (v) => T + (H - T) * (1 - (Number(v) - lo + span * 0.1) / (span * 1.2));
  const step = (W - L - R) / rows.length;
  const x = (i) => L + step * (i + 0.5);
  const vmax = Math.max(...rows.map((r) => r.volume));
  for (const v of [lo, (lo + hi) / 2, hi]) {
    s.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
    const label = svg("text", { x: L - 4, y: y(v) + 4, "text-anchor": "end", class: "axis" });
    label.textContent = number(v, 2);
    s.append(label);
  }
  rows.forEach((r, i) => {
    s.append(svg("line", { x1: x(i), x2: x(i), y1: y(r.high), y2: y(r.low), class: "range" }));
    const h = (V - 8) * (r.volume / vmax);
    s.append(svg("rect", { x: x(i) - step * 0.3, width: step * 0.6, y: H + V - h, height: h, class: "volume" }));
  });
  s.append(svg("polyline", { points: rows.map((r, i) => `${x(i)},${y(r.vwap)}`).join(" "), class: "vwap" }));
  rows.forEach((r, i) => s.append(svg("circle", { cx: x(i), cy: y(r.vwap), r: 3, class: "vwap-point" })));
  return s;
}

async function showIndex() {
  const ins = $("#chart-instrument").value;
  if (!ins) return;
  const rows = await get(`/api/v1/market/index?instrument=${encodeURIComponent(ins)}&period=day`);
  $("#chart").replaceChildren(chart(rows));
  $("#index").replaceChildren(table([
    { label: t("mkt.period"), value: (r) => r.period },
    { label: t("mkt.vwap"), num: true, value: (r) => r.vwap },
    { label: t("mkt.open_close"), num: true, value: (r) => `${r.open} / ${r.close}` },
    { label: t("mkt.high_low"), num: true, value: (r) => `${r.high} / ${r.low}` },
    { label: t("mkt.volume"), num: true, value: (r) => r.display },
    { label: t("mkt.payment"), num: true, value: (r) => r.value_cny },
  ], rows));
}

// ------------------------------------------------------------------ compliance: obligations and surrender

let obligation = null;

async function showObligations() {
  if (!account()) throw new Error(t("acct.id"));
  const rows = await get(`/api/v1/market/obligations?account=${encodeURIComponent(account())}`);
  $("#obligations").replaceChildren(rows.length ? table([
    { label: "#", num: true, value: (x) => x.id },
    { label: t("mkt.kind"), value: (x) => (x.pollutant ? `${x.kind} ${x.pollutant}` : x.kind) },
    { label: t("mkt.period_year"), num: true, value: (x) => x.period },
    { label: t("mkt.required"), num: true, value: (x) => x.display.amount },
    { label: t("mkt.surrendered"), num: true, value: (x) => x.display.surrendered },
    { label: t("mkt.shortfall"), num: true, value: (x) => x.display.shortfall },
    { label: t("mkt.due"), value: (x) => x.due.replace("T", " ").slice(0, 19) },
    { label: t("mkt.status"), value: (x) => t(`obl.${x.status}`) },
    { label: "", value: (x) => (x.status === "open"
      ? el("button", { type: "button", class: "verify surrender", "data-obligation": x.id, onclick: () => pickObligation(x), text: t("mkt.surrender") }) : "") },
  ], rows) : el("p", { class: "note", text: t("common.none") }));
}

function pickObligation(x) {
  obligation = x;
  $("#surrender-id").textContent = `#${x.id} ${x.kind}${x.pollutant ? ` ${x.pollutant}` : ""} ${x.period}: ${t("mkt.shortfall")} ${x.display.shortfall}`;
  $("#surrender-form").hidden = false;
}

async function surrender(form) {
  const f = Object.fromEntries(new FormData(form).entries());
  const p = await parse(f.instrument.trim(), f.amount);
  review(request("surrender", { instrument: p.instrument, amount: BigInt(p.amount_text), from: account(), obligation: obligation.id }),
         `${t("mkt.surrender")} ${p.display} → #${obligation.id}`, async () => showObligations());
}

async function showStatement(form) {
  const f = Object.fromEntries(new FormData(form).entries());
  if (!account()) throw new Error(t("acct.id"));
  const url = `/api/v1/market/statements/${encodeURIComponent(account())}?from=${f.from}&to=${f.to}`;
  const st = await get(url);
  $("#statement").replaceChildren(table([
    { label: t("reg.instrument"), value: (r) => r.instrument },
    { label: t("mkt.opening"), num: true, value: (r) => r.opening_display },
    { label: t("mkt.closing"), num: true, value: (r) => r.closing_display },
  ], st.summary), table([
    { label: t("reg.time"), value: (r) => r.time.replace("T", " ").slice(0, 19) },
    { label: t("reg.seq"), num: true, value: (r) => r.seq },
    { label: t("reg.what"), value: (r) => r.description },
    { label: t("acct.amount"), num: true, value: (r) => r.display },
    { label: t("acct.balances"), num: true, value: (r) => r.balance_display },
  ], st.lines));
}

async function refresh() {
  const info = (await api("/api/v1/ledger")).body;
  now = info.now;
  $("#clock").textContent = now;
  await showListings();
  await showTrades();
  await showIndex();
  if (selected) await showBook(selected.id);
}

$("#listing-form").addEventListener("submit", guard(async (ev) => newListing(ev.target), () => $("#submit-result")));
$("#bid-form").addEventListener("submit", guard(async (ev) => bid(ev.target), () => $("#submit-result")));
$("#settle-button").addEventListener("click", guard(settle, () => $("#submit-result")));
$("#sign-submit").addEventListener("click", guard(submit, () => $("#submit-result")));
$("#chart-instrument").addEventListener("change", guard(showIndex, () => $("#chart")));
$("#obligations-button").addEventListener("click", guard(showObligations, () => $("#obligations")));
$("#surrender-form").addEventListener("submit", guard(async (ev) => surrender(ev.target), () => $("#submit-result")));
$("#statement-form").addEventListener("submit", guard(async (ev) => showStatement(ev.target), () => $("#statement")));

async function main() {
  stored = await currentKey();
  $("#public-key").textContent = stored ? stored.publicHex : t("acct.no_key");
  if (!DATA.ledger) {
    $("#listings").textContent = t("common.none");
    return;
  }
  await refresh();
}

main().catch((e) => showError($("#listings"), e)).finally(() => ready("market"));
