// Water-ecological capacity and issuable credits of a basin run.
import { $, DATA, el, t, number, table, withLang, ready } from "./common.js";

const rs = $("#run-select");
for (const r of DATA.runs) rs.append(el("option", { value: r.id, text: `${r.id} · ${t("cred.vintage")} ${r.vintage ?? ""}`, selected: DATA.run && r.id === DATA.run.id }));
rs.addEventListener("change", () => { location.href = withLang(`/credits?run=${encodeURIComponent(rs.value)}`); });

if (!DATA.credits) {
  $("#empty").hidden = false;
} else {
  const rows = DATA.credits.credits || [];
  rows.forEach((r) => { if (r.overloaded) r._class = "warn"; });
  $("#credits").replaceChildren(table([
    { label: t("cred.catchment"), value: (r) => r.catchment },
    { label: t("cred.pollutant"), value: (r) => r.pollutant },
    { label: t("cred.vintage"), value: (r) => r.vintage },
    { label: t("cred.capacity"), num: true, value: (r) => number(r.capacity_t_per_yr, 2) },
    { label: t("cred.load"), num: true, value: (r) => number(r.load_t_per_yr, 2) },
    { label: t("cred.margin"), num: true, value: (r) => number(r.margin_t_per_yr, 2) },
    { label: t("cred.issuable"), num: true, value: (r) => number(r.issuable_t_per_yr, 3) },
    { label: t("cred.overloaded"), value: (r) => (r.overloaded ? t("common.yes") : t("common.no")) },
  ], rows));
}
ready("credits");
