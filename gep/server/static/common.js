// Shared by every page: translations, number formats, JSON fetches, tables, SVG maps.

export const STRINGS = JSON.parse(document.getElementById("gep-i18n").textContent);
export const DATA = JSON.parse(document.getElementById("gep-data").textContent);
export const LANG = document.body.dataset.lang;
export const t = (key) => (key in STRINGS ? STRINGS[key] : key);
export const $ = (sel) => document.querySelector(sel);
const SVG = "http://www.w3.org/2000/svg";

export function el(tag, attrs = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}

const nf = (digits) => new Intl.NumberFormat(LANG === "zh" ? "zh-CN" : "en", { maximumFractionDigits: digits, minimumFractionDigits: digits });

// CNY as 亿元 (zh) or × 10⁸ CNY (en).
export function money(v, digits = 2) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return `${nf(digits).format(v / 1e8)} ${t("unit.yi_cny")}`;
}
export const number = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? "—" : nf(digits).format(v));
// pint unit text as people write it: m**3/yr → m³/yr, tCO2 → tCO₂.
export const unit = (u) => String(u || "").replace(/\*\*2/g, "²").replace(/\*\*3/g, "³").replace(/CO2/g, "CO₂").replace(/\*/g, "·");
export const pct = (v, digits = 1) => (v === null || v === undefined ? "—" : `${nf(digits).format(100 * v)}%`);

export function withLang(href) {
  if (LANG === "zh") return href;
  return href + (href.includes("?") ? "&" : "?") + "lang=" + LANG;
}

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message ? `${e.message}${e.hint ? ` (${e.hint})` : ""}` : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export async function api(url, options = {}) {
  const r = await fetch(url, { credentials: "omit", ...options, headers: { Accept: "application/json", ...(options.headers || {}) } });
  const body = r.headers.get("content-type")?.includes("json") ? await r.json() : null;
  if (!r.ok && !(options.accept || []).includes(r.status)) throw new ApiError(r.status, body);
  return { status: r.status, body };
}

export function table(columns, rows, { className = "data" } = {}) {
  const head = el("tr", {}, columns.map((c) => el("th", { class: c.num ? "num" : null, text: c.label })));
  const body = rows.map((r) => el("tr", { class: r._class || null, "data-zone": r.zone ?? null }, columns.map((c) => {
    const v = c.value(r);
    return el("td", { class: c.num ? "num" : null }, v instanceof Node ? v : String(v ?? "—"));
  })));
  return el("table", { class: className }, el("thead", {}, head), el("tbody", {}, body));
}

export function showError(target, err) {
  target.replaceChildren(el("p", { class: "error", text: `${t("common.error")}: ${err.message || err}` }));
}

// Colour ramps: sequential (viridis-like) and diverging (blue-white-red) as CSS colours.
const VIRIDIS = ["#440154", "#414487", "#2a788e", "#22a884", "#7ad151", "#fde725"];
const DIVERGING = ["#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac"];

function ramp(colors, x) {
  const p = Math.max(0, Math.min(1, x)) * (colors.length - 1);
  const i = Math.min(Math.floor(p), colors.length - 2), f = p - i;
  const a = colors[i].match(/\w\w/g).map((h) => parseInt(h, 16)), b = colors[i + 1].match(/\w\w/g).map((h) => parseInt(h, 16));
  return `rgb(${a.map((v, k) => Math.round(v + f * (b[k] - v))).join(",")})`;
}

export function colourScale(values, diverging) {
  const finite = values.filter((v) => Number.isFinite(v));
  if (diverging) {
    const span = Math.max(...finite.map(Math.abs), 1e-12);
    return { colour: (v) => ramp(DIVERGING, (v / span + 1) / 2), lo: -span, hi: span, colors: DIVERGING };
  }
  const lo = Math.min(...finite), hi = Math.max(...finite);
  return { colour: (v) => ramp(VIRIDIS, (v - lo) / ((hi - lo) || 1)), lo, hi, colors: VIRIDIS };
}

// Draw GeoJSON polygons (in a projected CRS, metres, north up) as SVG, with an optional raster underneath.
export function drawMap(target, geo, { fill, title, onSelect, image }) {
  const [x0, y0, x1, y1] = geo.bbox;
  const w = x1 - x0, h = y1 - y0;
  const svg = el("svg:svg", { viewBox: `0 0 ${w} ${h}`, class: "map-svg", role: "img" });
  if (image) svg.append(el("svg:image", { href: image, x: 0, y: 0, width: w, height: h, preserveAspectRatio: "none", class: "cells" }));
  const ring = (coords) => coords.map(([x, y], i) => `${i ? "L" : "M"}${(x - x0).toFixed(1)},${(y1 - y).toFixed(1)}`).join("") + "Z";
  for (const f of geo.features) {
    const polys = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
    const d = polys.map((p) => p.map(ring).join("")).join("");
    const path = el("svg:path", { d, "fill-rule": "evenodd", class: "zone", "data-zone": f.properties.zone, fill: image ? "none" : fill(f) },
      el("svg:title", { text: title(f) }));
    path.addEventListener("click", () => onSelect && onSelect(f));
    svg.append(path);
  }
  target.replaceChildren(svg);
  return svg;
}

export function legend(target, scale, fmt) {
  const bar = el("div", { class: "legend-bar" }, scale.colors.map((c) => { const s = el("span"); s.style.background = c; return s; }));
  target.replaceChildren(el("span", { text: fmt(scale.lo) }), bar, el("span", { text: fmt(scale.hi) }));
}

// An event handler running ``fn`` (a form's submit without reloading the page); a refusal is shown in ``target()``.
export function guard(fn, target) {
  return (ev) => {
    ev && ev.preventDefault && ev.preventDefault();
    fn(ev).catch((e) => showError(target(), e));
  };
}

export function ready(name) {
  // A mark the benchmark and the browser tests wait for: the page has drawn its first view.
  performance.mark(`gep-ready-${name}`);
  document.body.dataset.ready = name;
}

// One line describing a log entry of the API ({record, description, amount_display}), in the page
// language: English is the ledger's own description (gep.ledger.describe); Chinese is composed from the
// request's fields with the amount as the server displays it (units as the ledger writes them).
export function describe(x) {
  if (LANG === "en" && x.description) return x.description;
  const r = x.record.request;
  const parts = [t(`op.${r.type}`)];
  if (r.listing !== undefined) parts.push(`#${r.listing}`);
  if (r.account) parts.push(r.account);
  if (x.amount_display) parts.push(x.amount_display);
  if (r.instrument) parts.push(r.instrument);
  if (r.from || r.to) parts.push(`${r.from || ""} → ${r.to || ""}`);
  if (r.price) parts.push(`@ ${r.price}`);
  if (r.beneficiary) parts.push(`(${r.beneficiary})`);
  return parts.join(" ");
}
