"""Every string of the web pages, in Chinese (first) and English: one table.

Templates call ``t("key")``; the pages' scripts get the same table for the chosen
language (embedded as JSON, ``common.js: t``). A missing key shows as the key itself and is caught by
the tests. Service names in Chinese come from the run (``name_zh``); the English
names here follow the service ids of ``gep services list``.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "TABLE", "table", "language"]

#: Languages offered, the default first.
LANGUAGES = ("zh", "en")

TABLE: dict[str, tuple[str, str]] = {
    # frame
    "app.title": ("生态产品价值核算与交易数据平台", "Ecological product accounting and trading data platform"),
    "nav.dashboard": ("GEP 核算", "GEP dashboard"),
    "nav.registry": ("登记簿", "Registry"),
    "nav.account": ("我的账户", "My account"),
    "nav.credits": ("水生态容量", "Water capacity"),
    "nav.market": ("交易市场", "Market"),
    "nav.api": ("接口文档", "API"),
    "lang.switch": ("English", "中文"),
    "footer.note": ("数据来自已记录的 gep 运行与签名账本；每个数字可复核。", "Figures come from recorded gep runs and the signed ledger; every number can be re-checked."),
    "common.loading": ("加载中…", "Loading…"),
    "common.none": ("暂无", "None yet"),
    "common.error": ("出错", "Error"),
    "common.total": ("合计", "Total"),
    "common.download": ("下载", "Download"),
    "common.more": ("更多", "More"),
    "common.yes": ("是", "yes"),
    "common.no": ("否", "no"),
    "unit.yi_cny": ("亿元", "× 10⁸ CNY"),
    "unit.wan_cny": ("万元", "× 10⁴ CNY"),
    "unit.cny": ("元", "CNY"),
    # dashboard
    "dash.run": ("核算结果", "Run"),
    "dash.year": ("年份", "Year"),
    "dash.service": ("服务", "Service"),
    "dash.all_services": ("全部服务（GEP）", "All services (GEP)"),
    "dash.gep": ("生态系统生产总值（GEP）", "Gross ecosystem product (GEP)"),
    "dash.gep_comparable": ("可比价 GEP", "GEP at comparable prices"),
    "dash.gdp_ratio": ("GEP/GDP", "GEP/GDP"),
    "dash.price_year": ("价格年", "price year"),
    "dash.base_year": ("基准年", "base year"),
    "dash.map": ("分乡镇地图", "Map by township"),
    "dash.cells": ("栅格图层", "Cell layer"),
    "dash.cells_off": ("不显示", "off"),
    "dash.by_service": ("分服务价值", "Value by service"),
    "dash.by_zone": ("分乡镇价值", "Value by township"),
    "dash.by_year": ("年度变化", "By year"),
    "dash.zone": ("乡镇", "Township"),
    "dash.category": ("类别", "Category"),
    "dash.quantity": ("实物量", "Quantity"),
    "dash.value": ("价值量", "Value"),
    "dash.share": ("占比", "Share"),
    "dash.compare": ("情景比较", "Scenario comparison"),
    "dash.base": ("基准情景", "Base"),
    "dash.alt": ("比较情景", "Alternative"),
    "dash.delta": ("变化量", "Change"),
    "dash.delta_pct": ("变化率", "Change %"),
    "dash.no_runs": ("没有已记录的运行。先运行 gep run scenarios/demo.toml，再用 --runs 指向结果目录。",
                     "No recorded runs. Run gep run scenarios/demo.toml and point --runs at the runs folder."),
    "dash.provenance": ("溯源清单（manifest）", "Provenance (manifest)"),
    "cat.provisioning": ("物质产品", "Provisioning"),
    "cat.regulating": ("调节服务", "Regulating"),
    "cat.cultural": ("文化服务", "Cultural"),
    "svc.gep_value": ("GEP 价值量", "GEP value"),
    "svc.delta_gep_value": ("GEP 变化量", "ΔGEP value"),
    # credits
    "cred.title": ("水生态容量与可交易指标", "Water ecological capacity and tradable credits"),
    "cred.catchment": ("汇水区", "Catchment"),
    "cred.pollutant": ("污染物", "Pollutant"),
    "cred.capacity": ("容量 (t/a)", "Capacity (t/yr)"),
    "cred.load": ("现状负荷 (t/a)", "Load (t/yr)"),
    "cred.margin": ("安全余量 (t/a)", "Safety margin (t/yr)"),
    "cred.issuable": ("可发放指标 (t/a)", "Issuable (t/yr)"),
    "cred.overloaded": ("超载", "Overloaded"),
    "cred.vintage": ("年度", "Vintage"),
    # registry
    "reg.title": ("权益登记簿", "Rights registry"),
    "reg.head": ("最新树头", "Latest tree head"),
    "reg.tree_size": ("记录数", "Records"),
    "reg.root": ("Merkle 根", "Merkle root"),
    "reg.signed": ("登记机构签名", "Registry signature"),
    "reg.unsigned": ("未签名（待签名树头上线）", "unsigned (signed tree heads pending)"),
    "reg.instruments": ("权益品种", "Instruments"),
    "reg.instrument": ("品种", "Instrument"),
    "reg.issued": ("已发放", "Issued"),
    "reg.held": ("持有", "Held"),
    "reg.retired": ("已注销（使用）", "Retired"),
    "reg.cancelled": ("已作废", "Cancelled"),
    "reg.buffer": ("缓冲池", "Buffer"),
    "reg.transactions": ("交易记录", "Transactions"),
    "reg.seq": ("序号", "Seq"),
    "reg.time": ("时间", "Time"),
    "reg.type": ("类型", "Type"),
    "reg.what": ("内容", "What"),
    "reg.signer": ("签名者", "Signer"),
    "reg.certificate": ("凭证", "Certificate"),
    "reg.verify": ("在页面中验证", "Verify in this page"),
    "reg.verify_file": ("验证凭证文件", "Verify a certificate file"),
    "reg.verified": ("验证通过", "Verified"),
    "reg.not_verified": ("验证失败", "Verification failed"),
    "reg.older": ("更早", "Older"),
    "reg.check_head": ("核对保存的树头", "Check a head you kept"),
    "reg.check_head_help": ("输入以前公布或保存的记录数与 Merkle 根：页面用一致性证明（RFC 6962）核对当前账本是否在其基础上只增不改。",
                            "Enter the size and root of a head published or saved earlier: the page checks with a consistency proof (RFC 6962) that the ledger only grew since."),
    "reg.check": ("核对", "Check"),
    "reg.head_ok": ("一致：当前账本包含该树头的全部记录", "Consistent: the ledger extends that head"),
    "reg.head_bad": ("不一致：账本与该树头不符（历史被改写或根有误）", "Inconsistent: the ledger does not extend that head (history rewritten, or a wrong root)"),
    "reg.leaf": ("叶哈希", "Leaf hash"),
    "reg.path": ("审计路径", "Audit path"),
    "check.format": ("凭证格式", "Certificate format"),
    "check.record": ("记录为规范 JSON", "Record is canonical JSON"),
    "check.registry": ("登记机构公钥与本账本一致", "Registry key is this ledger's"),
    "check.statement": ("凭证说明与记录一致", "Statement matches the record"),
    "check.fields": ("凭证字段完整", "Certificate fields"),
    "check.leaf": ("叶哈希 = SHA-256(0x00‖记录)", "Leaf hash = SHA-256(0x00‖record)"),
    "check.size": ("证明对应树头大小", "Proof matches the head's size"),
    "check.inclusion": ("审计路径通向 Merkle 根", "Audit path leads to the Merkle root"),
    "check.ledger": ("请求属于本账本", "Request names this ledger"),
    "check.signature": ("请求的 Ed25519 签名", "Ed25519 signature of the request"),
    "check.head_signature": ("树头的登记机构签名", "Registry signature of the head"),
    "op.init": ("创世", "genesis"),
    "op.open": ("开户", "open account"),
    "op.issue": ("发放", "issue"),
    "op.transfer": ("转让", "transfer"),
    "op.retire": ("注销（使用）", "retire"),
    "op.cancel": ("作废", "cancel"),
    "op.recalculate": ("重新核算", "recalculate"),
    "op.define": ("设立权益", "define right"),
    "op.allocate": ("分配", "allocate"),
    "op.oblige": ("设定履约义务", "set obligation"),
    "op.surrender": ("清缴", "surrender"),
    "op.deposit": ("入金", "deposit"),
    "op.withdraw": ("出金", "withdraw"),
    "op.ratios": ("发布交易比率", "publish ratios"),
    "op.list": ("挂牌", "list"),
    "op.bid": ("出价", "bid"),
    "op.commit": ("密封出价", "sealed bid"),
    "op.reveal": ("揭示出价", "reveal bid"),
    "op.settle": ("结算", "settle"),
    "op.delist": ("撤牌", "delist"),
    # account
    "acct.title": ("账户", "Account"),
    "acct.key": ("私钥（仅保存在本浏览器）", "Private key (kept in this browser only)"),
    "acct.key_help": ("导入 gep ledger keygen 生成的 .key 文件（PKCS#8 PEM）。私钥以不可导出的形式存于本浏览器，从不发送到服务器。",
                      "Import the .key file written by gep ledger keygen (PKCS#8 PEM). The key is stored non-extractable in this browser and never sent to the server."),
    "acct.import": ("导入私钥", "Import key"),
    "acct.forget": ("移除私钥", "Forget key"),
    "acct.generate": ("生成新密钥", "Generate a new key"),
    "acct.generated": ("新密钥已生成：请下载并妥善保存私钥文件，把公钥交给登记机构开户。",
                       "New key made: download the private key file and keep it safe; give the public key to the registry to open an account."),
    "acct.public": ("公钥", "Public key"),
    "acct.no_key": ("尚未导入私钥", "No key imported"),
    "acct.id": ("账户号", "Account id"),
    "acct.open": ("查看", "Show"),
    "acct.balances": ("余额", "Balances"),
    "acct.history": ("账户流水", "History"),
    "acct.amount": ("数量", "Amount"),
    "acct.transfer": ("转让", "Transfer"),
    "acct.retire": ("注销（使用）", "Retire"),
    "acct.to": ("转入账户", "To account"),
    "acct.price": ("价格（元/单位，可选）", "Price (CNY per unit, optional)"),
    "acct.beneficiary": ("受益方（可选）", "Beneficiary (optional)"),
    "acct.memo": ("备注（可选）", "Memo (optional)"),
    "acct.review": ("核对并签名", "Review and sign"),
    "acct.signing": ("将签名的请求", "Request to be signed"),
    "acct.submit": ("签名并提交", "Sign and submit"),
    "acct.submitted": ("已记录：交易", "Recorded: transaction"),
    "acct.not_owner": ("导入的私钥不是该账户的所有者", "The imported key does not own this account"),
    # market (plan; issue 18)
    "market.pending": ("交易市场（挂牌、竞价、协议转让、券款对付）将在市场模块上线后开放，页面布局见 docs/platform.md。",
                       "The market (listings, auctions, negotiated deals, delivery versus payment) opens when the market module lands; the page plan is in docs/platform.md."),
    "api.title": ("HTTP 接口", "HTTP API"),
    "api.spec": ("OpenAPI 规范（JSON）", "OpenAPI specification (JSON)"),
    "api.method": ("方法", "Method"),
    "api.path": ("路径", "Path"),
    "api.what": ("说明", "What"),
}


#: English names of the catalogue's services (the Chinese ones are the catalogue's ``name_zh``).
SERVICES_EN = {
    "provisioning": "Provisioning", "water_conservation": "Water conservation", "soil_retention": "Soil retention",
    "sand_fixation": "Sand fixation", "flood_mitigation": "Flood mitigation", "water_purification": "Water purification",
    "air_purification": "Air purification", "carbon_sequestration": "Carbon sequestration", "oxygen_release": "Oxygen release",
    "climate_regulation": "Climate regulation", "negative_ions": "Negative air ions", "recreation": "Recreation",
    "landscape": "Landscape value",
}


def _services() -> dict[str, tuple[str, str]]:
    from gep.accounting.catalogue import CATALOGUE

    return {f"svc.{s.id}": (s.name_zh, SERVICES_EN.get(s.id, s.id.replace("_", " ").capitalize())) for s in CATALOGUE}


TABLE.update(_services())


def language(value: str | None) -> str:
    """A supported language code (default: Chinese)."""
    return value if value in LANGUAGES else LANGUAGES[0]


def table(lang: str) -> dict[str, str]:
    """The strings of one language: key → text."""
    i = LANGUAGES.index(language(lang))
    return {k: v[i] for k, v in TABLE.items()}
