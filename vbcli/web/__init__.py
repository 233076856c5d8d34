"""`vb serve`: the ledger as a JSON HTTP API and a dashboard page (SPEC §8.7).

Needs the optional extra `vbcli[serve]` (FastAPI, uvicorn); nothing outside this package and
`vbcli/cli/serve.py` imports them.
"""
