"""A small Python client of ``gep serve``: signed writes and (signed) reads over HTTP.

Example
-------
>>> from gep.ledger.keys import load_private
>>> from gep.server.client import Client
>>> alice = load_private("alice.key")                                   # doctest: +SKIP
>>> with Client("http://127.0.0.1:8000") as c:                          # doctest: +SKIP
...     res = c.transfer(alice, "capacity/3/COD/2024", "250 kg", "alice", "bob", price="1186.71")
...     cert = c.certificate(res["seq"])
...     assert c.verify(cert, registry=c.ledger()["registry"])["ok"]

Requests are built and signed here, exactly as the CLI builds them
(:meth:`gep.ledger.ledger.Ledger.sign`): the private key never goes over the wire.
Refusals raise :class:`ServerError` with the server's JSON error; a replayed request
(already recorded) returns the original transaction with ``status`` ``exists``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gep.errors import GepError
from gep.ledger.canonical import canonical, signing_message
from gep.ledger.keys import KeyPair
from gep.server.auth import sign_read
from gep.ledger.certificate import verify as verify_certificate

__all__ = ["Client", "ServerError"]


class ServerError(GepError):
    """A refusal by the server: ``status`` (HTTP) and ``type`` (the ledger's error class name)."""

    def __init__(self, status: int, body: Any):
        err = (body or {}).get("error", {}) if isinstance(body, dict) else {}
        self.status = status
        self.type = err.get("type", "HTTPError")
        self.body = body
        super().__init__(f"HTTP {status} {self.type}: {err.get('message', body)}", hint=err.get("hint"))


class Client:
    """A connection to one server.

    Parameters
    ----------
    base_url : str
        e.g. ``http://127.0.0.1:8000``.
    reader : KeyPair, optional
        Key to sign reads with (for a server whose ledger is not public).
    timeout : float
        Seconds per request.
    http : httpx.Client, optional
        A ready client instead (e.g. Starlette's ``TestClient`` in tests); ``base_url`` is then ignored.
    """

    def __init__(self, base_url: str = "", reader: KeyPair | None = None, timeout: float = 30.0, http: Any = None):
        import httpx

        self.http = http if http is not None else httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self.reader = reader
        self._ledger: dict | None = None

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------ plumbing
    def get(self, path: str, **params: Any) -> Any:
        """GET a JSON resource (signed when the client has a reader key)."""
        req = self.http.build_request("GET", path, params={k: v for k, v in params.items() if v is not None})
        if self.reader is not None:
            req.headers["Authorization"] = sign_read(self.reader, "GET", req.url.raw_path.split(b"?")[0].decode(), req.url.query.decode())
        return self._answer(self.http.send(req), ())

    def _answer(self, r: Any, accept: tuple[int, ...]) -> Any:
        body = r.json() if r.headers.get("content-type", "").startswith(("application/json", "application/geo+json")) else r.content
        if r.status_code >= 400 and r.status_code not in accept:
            raise ServerError(r.status_code, body)
        return body

    def post(self, path: str, body: dict) -> dict:
        """POST a signed document (canonical JSON, ``application/json``); a replay answers the original."""
        r = self.http.post(path, content=canonical(body), headers={"Content-Type": "application/json"})
        out = self._answer(r, (409,))
        if r.status_code == 409 and out.get("status") != "exists":
            raise ServerError(409, out)
        return out

    # ------------------------------------------------------------ reads
    def ledger(self) -> dict:
        """Ledger id, registry key, coefficient set and latest head (cached)."""
        if self._ledger is None:
            self._ledger = self.get("/api/v1/ledger")
        return self._ledger

    def head(self) -> dict:
        return self.get("/api/v1/ledger/head")

    def balances(self, account: str | None = None, instrument: str | None = None) -> list[dict]:
        return self.get("/api/v1/ledger/balances", account=account, instrument=instrument)

    def history(self, account: str, limit: int = 50, before: int | None = None) -> dict:
        return self.get(f"/api/v1/ledger/accounts/{account}/history", limit=limit, before=before)

    def certificate(self, seq: int) -> dict:
        return self.get(f"/api/v1/ledger/transactions/{int(seq)}/certificate")

    def check_head(self, tree_size: int, root_hash: str) -> bool:
        """True when the server's current tree extends a head you kept (RFC 6962 consistency proof, checked here)."""
        from gep.ledger import merkle

        p = self.get("/api/v1/ledger/consistency", first=int(tree_size))
        return merkle.verify_consistency(int(tree_size), p["tree_size"], bytes.fromhex(root_hash), bytes.fromhex(p["root"]),
                                         [bytes.fromhex(x) for x in p["path"]])

    def gep(self, run: str) -> dict:
        """GEP by year × zone × service of a recorded run."""
        return self.get(f"/api/v1/runs/{run}/gep")

    @staticmethod
    def verify(cert: dict, registry: str | None = None, published: list[tuple[str, dict]] = ()) -> dict:
        """Check a certificate offline (:func:`gep.ledger.certificate.verify`; raises ``AuditFailed``).

        Pin ``registry`` (the registry's published key) or a ``published`` head: the key
        inside a certificate proves only consistency with *some* key.
        """
        return verify_certificate(cert, registry, published)

    # ------------------------------------------------------------ writes
    def signer(self):
        """The server's ledger as a request builder: :class:`gep.ledger.ledger.Ledger`'s own signing code, no database."""
        from gep.ledger.ledger import Ledger

        class Remote(Ledger):
            def __init__(self, ledger_id: str):  # no store: only the request-building methods are used
                self.id = ledger_id

        return Remote(self.ledger()["ledger"])

    def market(self):
        """The server's market as a request builder (:class:`gep.ledger.market.Market`'s ``*_request`` methods)."""
        from gep.ledger.market import Market

        return Market(self.signer())

    def sign(self, key: KeyPair, type_: str, fields: dict, id: str | None = None) -> dict:
        """A request of the server's ledger signed with ``key``: ``{"request", "signature"}`` (as the CLI signs it)."""
        return self.signer().sign(key, type_, fields, id).as_dict()

    def submit(self, signed: dict, evidence: str | None = None) -> dict:
        """Record one signed request (``evidence``: run id cited by an issuance)."""
        return self.post("/api/v1/ledger/requests", {**signed, **({"evidence": evidence} if evidence else {})})

    def submit_many(self, items: list[dict], linked: bool = True) -> dict:
        """Record several signed requests in one database transaction (all or nothing when linked)."""
        return self.post("/api/v1/ledger/batches", {"linked": linked, "items": items})

    def transfer(self, key: KeyPair, instrument: str, amount: str | int, src: str, dst: str, price: str | Decimal | None = None,
                 id: str | None = None, memo: str | None = None) -> dict:
        """Transfer credits from ``src`` (owned by ``key``) to ``dst``; ``price`` in CNY per display unit."""
        return self.submit(self.signer().transfer_request(key, instrument, amount, src, dst, price, id, memo).as_dict())

    def retire(self, key: KeyPair, instrument: str, amount: str | int, src: str, beneficiary: str | None = None,
               id: str | None = None, memo: str | None = None) -> dict:
        """Retire credits (final)."""
        return self.submit(self.signer().retire_request(key, instrument, amount, src, id, beneficiary, memo).as_dict())
