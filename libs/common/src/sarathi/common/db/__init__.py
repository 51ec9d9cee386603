"""PostgreSQL for Sarathi: engines, table models (one schema per owner), Alembic migrations.

- `sarathi.common.db.engine`: `create_engine(settings)`, `create_async_engine(settings)`, `ping(engine)`.
- `sarathi.common.db.models`: the SQLModel tables of `refdata`, `orders`, `risk`, `signals`, `execution`.
- `sarathi.common.db.migrate`: `upgrade(url)`, `downgrade(url)`, `current(url)`; also a command line.

Importing this package connects to nothing and imports no model; import the submodule you use.
"""
