"""MySQL connections from a URL (local) or from a Secrets Manager secret (AWS).

Losing the server is not a bug of the caller: connection failures leave this module as the domain's
StoreUnavailable (the API answers 503), never as PyMySQL exceptions.
"""

from __future__ import annotations

import ssl
import threading
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

import pymysql
import pymysql.cursors

from facetrace.errors import StoreUnavailable

# Seconds. The API function has 28 s: a dead server must cost one short connect attempt, and a hung one
# one read, not the whole budget. ?connect_timeout=&read_timeout=&write_timeout= in the URL override them.
TIMEOUTS = {"connect_timeout": 5, "read_timeout": 20, "write_timeout": 20}

# Server errors that say "not now" rather than "wrong request": retrying later may succeed.
UNAVAILABLE_CODES = frozenset({
    1040,  # too many connections
    1053,  # server shutdown in progress
    1158, 1159, 1160, 1161,  # network read/write errors
    1203, 1226,  # the user's connection or resource limits
    1205,  # lock wait timeout
    1213,  # deadlock (the transaction was rolled back)
    1290, 1836,  # read-only: a failover is under way
    1927,  # connection killed
    2002, 2003, 2005, 2006, 2013, 2055,  # cannot connect, unknown host, gone away, lost connection
    9501,  # RDS Proxy: timed out waiting to borrow a database connection
})


def connect_url(db_url: str) -> pymysql.connections.Connection:
    """Open an autocommit PyMySQL connection to mysql://user:password@host:port/database."""
    parts = urlsplit(db_url)
    if parts.scheme not in ("mysql", "mysql+pymysql", "mariadb"):
        raise ValueError(f"not a MySQL URL: {parts.scheme}://")
    query = dict(parse_qsl(parts.query))
    # ?ssl=true: RDS Proxy requires TLS; its certificate chains to a public CA in the system bundle.
    tls = ssl.create_default_context() if query.get("ssl") == "true" else None
    timeouts = {name: int(query.get(name, default)) for name, default in TIMEOUTS.items()}
    return pymysql.connect(
        ssl=tls,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=parts.path.lstrip("/") or None,
        autocommit=True,
        charset="utf8mb4",
        cursorclass=pymysql.cursors.DictCursor,
        **timeouts,
    )


def unavailable(error: pymysql.err.Error) -> StoreUnavailable | None:
    """The domain's StoreUnavailable for a connection-level PyMySQL error, None for any other error."""
    code = error.args[0] if error.args and isinstance(error.args[0], int) else None
    if isinstance(error, pymysql.err.InterfaceError) or (
            isinstance(error, pymysql.err.OperationalError) and code in UNAVAILABLE_CODES):
        return StoreUnavailable(f"database unavailable: {error.args[-1] if error.args else type(error).__name__}", code)
    return None


class Database:
    """A lazily (re)connected connection per thread: one in a Lambda container, one per local thread."""

    def __init__(self, db_url: str) -> None:
        self._url = db_url
        self._local = threading.local()

    @property
    def _conn(self) -> pymysql.connections.Connection | None:
        return getattr(self._local, "conn", None)

    @_conn.setter
    def _conn(self, value: pymysql.connections.Connection | None) -> None:
        self._local.conn = value

    @property
    def url(self) -> str:
        return self._url

    def _connection(self) -> pymysql.connections.Connection:
        if self._conn is not None:
            try:
                self._conn.ping(reconnect=False)
            except pymysql.err.Error:
                # RDS Proxy or the server dropped an idle connection; start a fresh one.
                self._conn = None
        if self._conn is None:
            self._conn = connect_url(self._url)
        return self._conn

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """Turn connection failures into StoreUnavailable and forget the connection, so the next call reconnects."""
        try:
            yield
        except pymysql.err.Error as error:
            domain = unavailable(error)
            if domain is None:
                raise
            self._forget()
            raise domain from error

    def _forget(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except pymysql.err.Error:
                pass  # already gone: closing is only tidying up

    def query(self, sql: str, args: Any = None) -> list[dict]:
        """Run a parameterised SELECT and return its rows as dicts."""
        with self._translated(), self._connection().cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def execute(self, sql: str, args: Any = None) -> int:
        """Run a parameterised statement and return the affected row count."""
        with self._translated(), self._connection().cursor() as cur:
            return cur.execute(sql, args)

    def executemany(self, sql: str, rows: list) -> int:
        """Run one parameterised statement for many rows in a single round-trip."""
        if not rows:
            return 0
        with self._translated(), self._connection().cursor() as cur:
            return cur.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group statements atomically."""
        with self._translated():
            conn = self._connection()
            conn.begin()
        try:
            yield
        except BaseException:
            try:
                conn.rollback()
            except pymysql.err.Error:
                pass  # the connection died: the server rolls back by itself, and the first error is the one to see
            raise
        with self._translated():
            conn.commit()

    def close(self) -> None:
        """Close this thread's connection, if any."""
        self._forget()
