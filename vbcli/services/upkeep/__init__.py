"""Upkeep of the ledger file: db check, backup, maintenance (path, info)."""
