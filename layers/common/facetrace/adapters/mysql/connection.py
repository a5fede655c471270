"""MySQL connections from a URL (local) or from a Secrets Manager secret (AWS)."""

from __future__ import annotations

import ssl
import threading
from contextlib import contextmanager
from typing import Any, Iterator
from urllib.parse import parse_qsl, unquote, urlsplit

import pymysql
import pymysql.cursors


def connect_url(db_url: str) -> pymysql.connections.Connection:
    """Open an autocommit PyMySQL connection to mysql://user:password@host:port/database."""
    parts = urlsplit(db_url)
    if parts.scheme not in ("mysql", "mysql+pymysql", "mariadb"):
        raise ValueError(f"not a MySQL URL: {parts.scheme}://")
    # ?ssl=true: RDS Proxy requires TLS; its certificate chains to a public CA in the system bundle.
    tls = ssl.create_default_context() if dict(parse_qsl(parts.query)).get("ssl") == "true" else None
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
        connect_timeout=10,
    )


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

    def query(self, sql: str, args: Any = None) -> list[dict]:
        """Run a parameterised SELECT and return its rows as dicts."""
        with self._connection().cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def execute(self, sql: str, args: Any = None) -> int:
        """Run a parameterised statement and return the affected row count."""
        with self._connection().cursor() as cur:
            return cur.execute(sql, args)

    def executemany(self, sql: str, rows: list) -> int:
        """Run one parameterised statement for many rows in a single round-trip."""
        if not rows:
            return 0
        with self._connection().cursor() as cur:
            return cur.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group statements atomically."""
        conn = self._connection()
        conn.begin()
        try:
            yield
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
