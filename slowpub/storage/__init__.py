"""Storage: the tables, the engine, the migration runner and row claiming.

``models`` (the SQLAlchemy tables), ``engine`` (engine and sessions, one per
process), ``migrate`` (Alembic from inside slowpub), ``claims`` (leases on
rows of durable work), ``lease_owners`` (the worker processes holding them,
and releasing a dead one's), ``failures`` (a database error as one line).
Imports only config, clock, ids and ``federation/``; never the domain or a
face.
"""
