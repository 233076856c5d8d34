"""vb: a command-line ledger for volatility balancing."""

__version__ = "0.1.0"
