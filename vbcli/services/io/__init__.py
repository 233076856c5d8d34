"""Files in and out: export (csv/json/ndjson/journals), import of fills and whole ledgers, price files."""
