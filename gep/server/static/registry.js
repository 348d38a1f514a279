// Registry explorer: tree head, instruments, transactions, certificates verified in the page (WebCrypto).
import { $, DATA, el, t, table, api, showError, ready, describe } from "./common.js";
import { checksList, signedGet, unhex, verifyCertificate, verifyConsistency } from "./ledger.js";

// Reads are signed with the imported key (account page) when the ledger is not public.
const get = (url) => signedGet(url, DATA.access);

const short = (h) => (h ? `${h.slice(0, 12)}…` : "—");

async function showCertificate(seq) {
  const panel = $("#cert-panel");
  panel.hidden = false;
  $("#cert-seq").textContent = `#${seq}`;
  try {
    const body = await get(`/api/v1/ledger/transactions/${seq}/certificate`);
    $("#cert-json").textContent = JSON.stringify(body, null, 1);
    $("#cert-result").replaceChildren(checksList(await verifyCertificate(body, DATA.ledger.registry, DATA.ledger.ledger)));
    const blob = new Blob([JSON.stringify(body, null, 1)], { type: "application/json" });
    $("#cert-result").append(el("a", { href: URL.createObjectURL(blob), download: `certificate-${seq}.json`, text: `${t("common.download")} certificate-${seq}.json` }));
  } catch (e) {
    showError($("#cert-result"), e);
  }
  panel.scrollIntoView();
}

let before = null;
const rows = [];

async function loadTransactions() {
  const q = before ? `&before=${before}` : "";
  const body = await get(`/api/v1/ledger/transactions?limit=25${q}`);
  rows.push(...body.items);
  before = body.next_before;
  $("#older").hidden = !before;
  $("#transactions").replaceChildren(table([
    { label: t("reg.seq"), num: true, value: (x) => x.seq },
    { label: t("reg.time"), value: (x) => x.record.time.replace("T", " ").slice(0, 19) },
    { label: t("reg.type"), value: (x) => t(`op.${x.record.request.type}`) },
    { label: t("reg.what"), value: (x) => describe(x) },
    { label: t("reg.signer"), value: (x) => el("code", { text: short(x.record.request.signer) }) },
    { label: t("reg.leaf"), value: (x) => el("code", { text: short(x.leaf_hash) }) },
    { label: t("reg.certificate"), value: (x) => x.certificate && el("button", { type: "button", class: "verify", "data-seq": x.seq, onclick: () => showCertificate(x.seq), text: t("reg.verify") }) },
  ], rows));
}

async function main() {
  if (!DATA.ledger) {
    $("#head").replaceChildren(el("p", { class: "note", text: t("common.none") }));
    return;
  }
  const { body: head } = await api("/api/v1/ledger/head");
  $("#head").replaceChildren(
    el("dt", { text: t("reg.tree_size") }), el("dd", { text: head.tree_size }),
    el("dt", { text: t("reg.root") }), el("dd", {}, el("code", { text: head.root_hash })),
    el("dt", { text: t("reg.time") }), el("dd", { text: head.timestamp || "—" }),
    el("dt", { text: t("reg.signed") }), el("dd", { text: head.signature ? short(head.signature) : t("reg.unsigned") }));
  try {
    const ins = await get("/api/v1/ledger/instruments");
    $("#instruments").replaceChildren(ins.length ? table([
      { label: t("reg.instrument"), value: (x) => x.instrument },
      { label: t("reg.issued"), num: true, value: (x) => x.display.issued },
      { label: t("reg.held"), num: true, value: (x) => x.display.held },
      { label: t("reg.retired"), num: true, value: (x) => x.display.retired },
      { label: t("reg.cancelled"), num: true, value: (x) => x.display.cancelled },
      { label: t("reg.buffer"), num: true, value: (x) => x.display.buffer },
    ], ins) : el("p", { class: "note", text: t("common.none") }));
    await loadTransactions();
  } catch (e) {
    showError($("#transactions"), e);
  }
}

$("#older").addEventListener("click", () => loadTransactions().catch((e) => showError($("#transactions"), e)));
$("#cert-file").addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  try {
    $("#file-result").replaceChildren(checksList(await verifyCertificate(JSON.parse(await file.text()), DATA.ledger.registry, DATA.ledger.ledger)));
  } catch (e) {
    showError($("#file-result"), e);
  }
});

$("#head-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = Object.fromEntries(new FormData(ev.target).entries());
  try {
    const { body: p } = await api(`/api/v1/ledger/consistency?first=${Number(f.size)}`);
    const ok = await verifyConsistency(p.first_size, p.tree_size, unhex(f.root.trim()), unhex(p.root), p.path.map(unhex));
    $("#head-result").replaceChildren(el("p", { id: "head-verdict", class: ok ? "ok" : "error",
      text: ok ? `✔ ${t("reg.head_ok")} ${p.first_size} → ${p.tree_size}` : `✘ ${t("reg.head_bad")}` }));
  } catch (e) {
    showError($("#head-result"), e);
  }
});

main().catch((e) => showError($("#head"), e)).finally(() => ready("registry"));
