"""Use cases: each runs inside one transaction, takes the session explicitly, returns data."""
