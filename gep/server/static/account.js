// Account page: import a key (kept non-extractable in IndexedDB), balances and history (signed reads when
// the ledger is not public), transfers and retirements signed in the browser and submitted as JSON.
import { $, DATA, el, t, table, api, showError, ready, guard, describe } from "./common.js";
import { currentKey, forgetKey, generateKey, importKey, newId, signedGet, signRequest, canonical } from "./ledger.js";

let stored = null;
let account = null;
let pending = null;

const get = (url) => signedGet(url, DATA.access);

async function showKey() {
  stored = await currentKey();
  $("#public-key").textContent = stored ? stored.publicHex : t("acct.no_key");
}

async function showAccount() {
  const id = $("#account-id").value.trim();
  if (!id) return;
  account = null;
  try {
    const info = await get(`/api/v1/ledger/accounts/${encodeURIComponent(id)}`);
    account = info;
    const own = stored && stored.publicHex === info.owner;
    $("#account-status").textContent = own ? `${t("acct.public")}: ${info.owner.slice(0, 16)}… ✔` : `${t("acct.not_owner")} (${info.owner.slice(0, 16)}…)`;
    $("#balances").replaceChildren(info.balances.length ? table([
      { label: t("reg.instrument"), value: (b) => b.instrument },
      { label: t("acct.amount"), num: true, value: (b) => b.display },
    ], info.balances) : el("p", { class: "note", text: t("common.none") }));
    for (const sel of document.querySelectorAll("select.instrument")) {
      sel.replaceChildren(...info.balances.map((b) => el("option", { value: b.instrument, text: `${b.instrument} (${b.display})` })));
    }
    const hist = await get(`/api/v1/ledger/accounts/${encodeURIComponent(id)}/history?limit=50`);
    $("#history").replaceChildren(table([
      { label: t("reg.seq"), num: true, value: (x) => x.seq },
      { label: t("reg.time"), value: (x) => x.record.time.replace("T", " ").slice(0, 19) },
      { label: t("reg.what"), value: (x) => describe(x) },
      { label: t("reg.certificate"), value: (x) => x.certificate && el("a", { href: x.certificate, target: "_blank", text: "JSON" }) },
    ], hist.items));
  } catch (e) {
    showError($("#balances"), e);
  }
}

async function review(kind, form) {
  const f = Object.fromEntries(new FormData(form).entries());
  if (!stored) throw new Error(t("acct.no_key"));
  if (!account) throw new Error(t("acct.id"));
  const q = new URLSearchParams({ instrument: f.instrument, amount: f.amount });
  if (kind === "transfer" && f.price) q.set("price", f.price);
  const parsed = (await api(`/api/v1/ledger/amounts?${q}`)).body;
  const request = { v: DATA.ledger.version, ledger: DATA.ledger.ledger, id: newId(), type: kind, signer: stored.publicHex,
                    instrument: parsed.instrument, amount: BigInt(parsed.amount_text), from: account.id };
  if (kind === "transfer") {
    request.to = f.to.trim();
    if (parsed.price) request.price = parsed.price;
  }
  if (kind === "retire" && f.beneficiary) request.beneficiary = f.beneficiary;
  if (f.memo) request.memo = f.memo;
  pending = request;
  $("#review").hidden = false;
  $("#review-json").textContent = `${parsed.display}${parsed.price ? ` @ ${parsed.price} ${parsed.price_unit} = ${parsed.notional_cny} CNY` : ""}\n\n${canonical(request)}`;
  $("#submit-result").replaceChildren();
  $("#review").scrollIntoView();
}

async function submit() {
  if (!pending) return;
  const body = await signRequest(stored, pending);
  const text = canonical(body);
  const r = await api("/api/v1/ledger/requests", { method: "POST", headers: { "Content-Type": "application/json" }, body: text, accept: [409] });
  pending = null;
  $("#submit-result").replaceChildren(el("p", { class: "ok", id: "submitted", "data-seq": r.body.seq },
    `${t("acct.submitted")} #${r.body.seq} `, el("a", { href: r.body.certificate, target: "_blank", text: t("reg.certificate") })));
  await showAccount();
}

$("#key-file").addEventListener("change", guard(async (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  await importKey(await file.text());
  ev.target.value = "";
  await showKey();
  await showAccount();
}, () => $("#account-status")));
$("#forget-key").addEventListener("click", guard(async () => { await forgetKey(); await showKey(); }, () => $("#account-status")));
$("#generate-key").addEventListener("click", guard(async () => {
  const { pem } = await generateKey();
  $("#download-key").href = URL.createObjectURL(new Blob([pem], { type: "application/x-pem-file" }));
  $("#generated").hidden = false;
  await showKey();
}, () => $("#account-status")));
$("#account-form").addEventListener("submit", guard(async () => showAccount(), () => $("#account-status")));
$("#transfer-form").addEventListener("submit", guard(async (ev) => review("transfer", ev.target), () => $("#submit-result")));
$("#retire-form").addEventListener("submit", guard(async (ev) => review("retire", ev.target), () => $("#submit-result")));
$("#sign-submit").addEventListener("click", guard(submit, () => $("#submit-result")));

if (!DATA.ledger) {
  $("#account-status").textContent = t("common.none");
  ready("account");
} else {
  showKey().finally(() => ready("account"));
}
