// GEP dashboard: run / year / service selectors, map by township, tables by service, zone and year,
// or a scenario comparison (ΔGEP by township and by service).
import { $, DATA, LANG, el, t, money, number, pct, unit, table, drawMap, colourScale, legend, withLang, ready } from "./common.js";

const run = DATA.run;
const state = { year: null, service: "", cells: "" };

function serviceName(s) {
  if (LANG === "zh" && s.name_zh) return s.name_zh;
  const key = `svc.${s.service || s.id || s}`;
  return t(key) !== key ? t(key) : s.service || s.id || s;
}

function runLabel(r) {
  if (r.kind === "gep compare") return `${r.id} · ${t("dash.compare")}: ${r.base} → ${r.alt}`;
  if (r.kind === "gep series") return `${r.id} · ${r.years[0]}–${r.years[r.years.length - 1]}`;
  return `${r.id} · ${r.year ?? ""}`;
}

function selectors() {
  const rs = $("#run-select");
  for (const r of DATA.runs) rs.append(el("option", { value: r.id, text: runLabel(r), selected: run && r.id === run.id }));
  rs.addEventListener("change", () => { location.href = withLang(`/?run=${encodeURIComponent(rs.value)}`); });
  const cs = $("#cells-select");
  cs.append(el("option", { value: "", text: t("dash.cells_off") }));
  for (const v of DATA.maps || []) cs.append(el("option", { value: v, text: t(`svc.${v}`) !== `svc.${v}` ? t(`svc.${v}`) : v }));
  cs.addEventListener("change", () => { state.cells = cs.value; draw(); });
}

function accountView() {
  const g = DATA.gep;
  state.year = g.years[g.years.length - 1];
  const ys = $("#year-select");
  for (const y of g.years) ys.append(el("option", { value: y, text: y, selected: y === state.year }));
  ys.addEventListener("change", () => { state.year = Number(ys.value); draw(); });
  $("#year-box").hidden = g.years.length < 2;
  const ss = $("#service-select");
  ss.append(el("option", { value: "", text: t("dash.all_services") }));
  for (const s of g.services) ss.append(el("option", { value: s.service, text: serviceName(s) }));
  ss.addEventListener("change", () => { state.service = ss.value; draw(); });
}

function drawAccount() {
  const g = DATA.gep;
  const rows = g.rows.filter((r) => r.year === state.year);
  const total = g.totals.find((x) => x.year === state.year);
  const services = Object.fromEntries(g.services.map((s) => [s.service, s]));
  const cards = [[t("dash.gep"), money(total.gep_cny), `${t("dash.price_year")} ${state.year}`]];
  if (total.gep_cny_comparable !== null) cards.push([t("dash.gep_comparable"), money(total.gep_cny_comparable), `${t("dash.base_year")} ${g.base_year}`]);
  if (total.gdp_cny) cards.push([t("dash.gdp_ratio"), number(total.gep_cny / total.gdp_cny, 3), ""]);
  for (const [c, v] of Object.entries(total.categories)) cards.push([t(`cat.${c}`), money(v), pct(v / total.gep_cny)]);
  $("#cards").replaceChildren(...cards.map(([k, v, n]) => el("div", { class: "card" }, el("div", { class: "k", text: k }), el("div", { class: "v", text: v }), el("div", { class: "n", text: n }))));

  // value per zone for the chosen service (or GEP)
  const byZone = {};
  for (const r of rows) if (!state.service || r.service === state.service) byZone[r.zone] = (byZone[r.zone] || 0) + (r.value_cny || 0);
  const zoneMeta = Object.fromEntries(g.zones.map((z) => [z.zone, z]));
  const zname = (z) => (LANG === "zh" ? zoneMeta[z].zone_name_zh || zoneMeta[z].zone_name : zoneMeta[z].zone_name);
  const scale = colourScale(Object.values(byZone), false);
  $("#map-title").textContent = `${t("dash.map")} · ${state.service ? serviceName(services[state.service]) : t("dash.gep")}`;
  drawMap($("#map"), DATA.zones, {
    fill: (f) => scale.colour(byZone[f.properties.zone] || 0),
    title: (f) => `${zname(f.properties.zone)}: ${money(byZone[f.properties.zone] || 0)}`,
    image: state.cells ? `/api/v1/runs/${run.id}/maps/${state.cells}.png` : null,
    onSelect: (f) => {
      highlight(f.properties.zone);
      const mine = rows.filter((r) => r.zone === f.properties.zone).sort((a, b) => b.value_cny - a.value_cny);
      $("#zone-detail").replaceChildren(el("strong", { text: `${zname(f.properties.zone)}: ${money(byZone[f.properties.zone] || 0)}` }), " · ",
        ...mine.slice(0, 4).map((r, i) => `${i ? "、" : ""}${serviceName(services[r.service])} ${money(r.value_cny)}`));
    },
  });
  legend($("#legend"), scale, (v) => money(v, 1));

  // by service
  const bySvc = {};
  for (const r of rows) {
    const s = (bySvc[r.service] ||= { service: r.service, value: 0, quantity: 0 });
    s.value += r.value_cny || 0;
    s.quantity = r.quantity === null ? null : s.quantity + r.quantity;
  }
  const svcRows = Object.values(bySvc).sort((a, b) => b.value - a.value);
  const max = Math.max(...svcRows.map((s) => s.value), 1);
  $("#services").replaceChildren(table([
    { label: t("dash.service"), value: (s) => serviceName(services[s.service]) },
    { label: t("dash.category"), value: (s) => t(`cat.${services[s.service].category}`) },
    { label: t("dash.quantity"), num: true, value: (s) => (s.quantity === null ? "—" : `${number(s.quantity, 0)} ${unit(services[s.service].unit)}`) },
    { label: t("dash.value"), num: true, value: (s) => money(s.value) },
    { label: t("dash.share"), value: (s) => { const b = el("span", { class: "bar" }); b.style.width = `${(100 * s.value) / max}%`; return el("span", { class: "barcell" }, b, pct(s.value / total.gep_cny)); } },
  ], svcRows));

  // by zone
  const zoneRows = g.zones.map((z) => ({ zone: z.zone, value: byZone[z.zone] || 0, gdp: z.gdp_cny }));
  $("#zones").replaceChildren(table([
    { label: t("dash.zone"), value: (z) => zname(z.zone) },
    { label: t("dash.value"), num: true, value: (z) => money(z.value) },
    { label: "GDP", num: true, value: (z) => money(z.gdp) },
    { label: t("dash.gdp_ratio"), num: true, value: (z) => (z.gdp ? number(z.value / z.gdp, 3) : "—") },
  ], zoneRows));

  // by year (series)
  if (g.years.length > 1) {
    $("#years-panel").hidden = false;
    $("#years").replaceChildren(table([
      { label: t("dash.year"), value: (x) => x.year },
      { label: t("dash.gep"), num: true, value: (x) => money(x.gep_cny) },
      { label: t("dash.gep_comparable"), num: true, value: (x) => money(x.gep_cny_comparable) },
      ...Object.keys(g.totals[0].categories).map((c) => ({ label: t(`cat.${c}`), num: true, value: (x) => money(x.categories[c]) })),
    ], g.totals));
  }
}

function drawComparison() {
  const c = DATA.comparison;
  $("#year-box").hidden = true;
  $("#service-select").closest("label").hidden = true;
  const tot = c.totals;
  $("#cards").replaceChildren(...[
    [`${t("dash.base")}: ${c.base.scenario}`, money(tot.gep_base_cny)],
    [`${t("dash.alt")}: ${c.alt.scenario}`, money(tot.gep_alt_cny)],
    [t("dash.delta"), money(tot.delta_gep_cny), pct(tot.delta_gep_cny / tot.gep_base_cny, 2)],
  ].map(([k, v, n]) => el("div", { class: "card" }, el("div", { class: "k", text: k }), el("div", { class: "v", text: v }), el("div", { class: "n", text: n || "" }))));
  const byZone = Object.fromEntries(c.by_zone.map((z) => [z.zone, z]));
  const scale = colourScale(c.by_zone.map((z) => z.delta_value_cny), true);
  const name = (f) => (LANG === "zh" ? f.properties.name_zh : f.properties.name);
  $("#map-title").textContent = `${t("dash.map")} · ${t("dash.delta")}`;
  drawMap($("#map"), DATA.zones, {
    fill: (f) => scale.colour(byZone[f.properties.zone]?.delta_value_cny || 0),
    title: (f) => `${name(f)}: ${money(byZone[f.properties.zone]?.delta_value_cny)}`,
    image: state.cells ? `/api/v1/runs/${run.id}/maps/${state.cells}.png` : null,
    onSelect: (f) => highlight(f.properties.zone),
  });
  legend($("#legend"), scale, (v) => money(v, 1));
  $("#table-title").textContent = `${t("dash.compare")} · ${t("dash.by_service")}`;
  $("#services").replaceChildren(table([
    { label: t("dash.service"), value: (s) => serviceName(s.service) },
    { label: t("dash.base"), num: true, value: (s) => money(s.value_base_cny) },
    { label: t("dash.alt"), num: true, value: (s) => money(s.value_alt_cny) },
    { label: t("dash.delta"), num: true, value: (s) => money(s.delta_value_cny) },
    { label: t("dash.delta_pct"), num: true, value: (s) => pct(s.delta_pct, 2) },
  ], c.by_service));
  const zn = Object.fromEntries(DATA.zones.features.map((f) => [f.properties.zone, f]));
  $("#zones").replaceChildren(table([
    { label: t("dash.zone"), value: (z) => (zn[z.zone] ? name(zn[z.zone]) : z.zone_name) },
    { label: t("dash.base"), num: true, value: (z) => money(z.value_base_cny) },
    { label: t("dash.alt"), num: true, value: (z) => money(z.value_alt_cny) },
    { label: t("dash.delta"), num: true, value: (z) => money(z.delta_value_cny) },
    { label: t("dash.delta_pct"), num: true, value: (z) => pct(z.delta_pct, 2) },
  ], c.by_zone));
}

function highlight(zone) {
  document.querySelectorAll("path.zone").forEach((p) => p.classList.toggle("selected", p.dataset.zone === String(zone)));
  document.querySelectorAll("#zones tbody tr").forEach((tr) => tr.classList.toggle("selected", tr.dataset.zone === String(zone)));
}

function draw() {
  if (DATA.comparison) drawComparison();
  else drawAccount();
}

if (!run) {
  $("#empty").hidden = false;
  ready("dashboard");
} else {
  selectors();
  if (DATA.gep) accountView();
  $("#manifest-link").href = `/api/v1/runs/${run.id}/manifest`;
  draw();
  ready("dashboard");
}
