"""Pure rules and values: no database, no printing."""
