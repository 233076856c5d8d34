"""Plumbing every use case shares: reference lookup, row views, the audit chain, idempotency keys, the runner."""
