"""Ledger use cases, one module per noun: portfolios, positions, orders, trades, dividends, events, evaluate, backtest."""
