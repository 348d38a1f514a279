"""The trading and data platform: HTTP API and web pages over recorded runs and the rights ledger.

Modules
-------
app           the ASGI application (FastAPI): routes, signed reads, rate limits, errors, headers
config        settings of ``gep serve`` (TOML file and options) and who may read what
ledger_api    ``/api/v1/ledger``: accounts, balances, instruments, log, proofs, certificates, signed writes
runs_api      ``/api/v1/runs``: GEP by zone × service × year, comparisons, maps, capacity credits
runs          the run catalogue: reads run folders through gep.io, caches derived results
pages         server-rendered pages (dashboard, credits, registry, account, API)
auth          signed reads (Ed25519 ``Authorization`` header)
pool          a pool of open ledgers (one connection per concurrent request) holding the head key
i18n          every page string in Chinese and English
client        a Python client: signed writes and reads over HTTP
sample        a sample ledger on a basin run, to try the platform
fontsubset    builds the shipped CJK font subset

The command is ``gep serve`` (:mod:`gep.cli.serve`); certificates are the ledger's
(:mod:`gep.ledger.certificate`).

See ``docs/platform.md``.
"""
