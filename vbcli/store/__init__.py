"""Persistence: tables, the exact-decimal column type, engines, transactions, migrations.

Only this package creates engines. Importing it imports SQLAlchemy, so the CLI imports it
inside the commands that need the database.
"""
