"""A database failure as one line an operator can act on.

The driver's own error is a page of SQL, parameters and a traceback; what the
operator needs is which database, whether it is read-only, and the driver's
reason. Read-only is recognised from SQLite's SQLITE_READONLY codes and
PostgreSQL's read-only transaction (25006, also a hot standby) and missing
privilege (42501, a read-only role).
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError

from slowpub.storage.engine import describe

SQLITE_READONLY = 8  # the primary code; extended codes keep it in the low byte
PG_READ_ONLY = frozenset({"25006", "42501"})


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's exception under SQLAlchemy's wrapper (and asyncpg's adapter)."""
    inner: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    cause = inner.__cause__
    return cause if cause is not None and getattr(cause, "sqlstate", None) else inner


def is_read_only(exc: BaseException) -> bool:
    error = _driver_error(exc)
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(error, sqlite3.Error) and isinstance(code, int):
        return code & 0xFF == SQLITE_READONLY
    sqlstate = getattr(error, "sqlstate", None) or getattr(
        getattr(exc, "orig", None), "sqlstate", None
    )
    return sqlstate in PG_READ_ONLY or "readonly database" in str(error)


def reason(exc: BaseException) -> str:
    """The first line of what the driver (or whatever raised) said."""
    error = _driver_error(exc)
    lines = str(error).strip().splitlines()
    first = lines[0] if lines else ""
    return first or type(error).__name__


def failure_line(url: str, exc: BaseException, failed: str = "cannot use") -> str:
    """One line, e.g. ``the database at /srv/slowpub.db is read-only: attempt to write a
    readonly database``; ``failed`` says what could not be done otherwise."""
    if is_read_only(exc):
        return f"the database at {describe(url)} is read-only: {reason(exc)}"
    return f"{failed} the database at {describe(url)}: {reason(exc)}"
