"""Find a MySQL server for local runs: FACETRACE_DB_URL, else a running local server, else a private MariaDB."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pymysql
from aws_lambda_powertools import Logger

from facetrace.adapters.mysql import connect_url

logger = Logger(child=True)

LOCAL_URL = "mysql://root@127.0.0.1:3306/"


@dataclass
class Server:
    """A reachable MySQL server; `process` is set when we started it and must stop it."""

    url: str
    process: subprocess.Popen | None = None
    datadir: Path | None = field(default=None)

    def stop(self) -> None:
        """Stop the server if this process started it."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            shutil.rmtree(self.datadir, ignore_errors=True)
            self.process = None


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def create_database(server_url: str, name: str) -> str:
    """Create (or empty) a database and return its URL."""
    conn = connect_url(with_database(server_url, ""))
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    conn.close()
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop a database if it exists."""
    conn = connect_url(with_database(server_url, ""))
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def reachable(url: str) -> bool:
    """True when a MySQL server answers at url."""
    try:
        connect_url(with_database(url, "")).close()
        return True
    except pymysql.err.MySQLError:
        return False


def find_or_start(allow_install: bool = True) -> Server:
    """A server to use: FACETRACE_DB_URL, else 127.0.0.1:3306 as root, else a private MariaDB started here."""
    if env := os.environ.get("FACETRACE_DB_URL"):
        if not reachable(env):
            raise RuntimeError(f"FACETRACE_DB_URL is set but no MySQL answers there ({urlsplit(env).hostname})")
        return Server(with_database(env, ""))
    if reachable(LOCAL_URL):
        return Server(LOCAL_URL)
    return start_private(allow_install)


def start_private(allow_install: bool) -> Server:
    """Start a throw-away MariaDB on a free port, installing the Debian package if needed and allowed."""
    mariadbd = _binary("mariadbd", "mysqld") or (_install() if allow_install else None)
    if mariadbd is None:
        raise RuntimeError("no MySQL found: set FACETRACE_DB_URL, start MariaDB, or install mariadb-server")
    datadir = Path(tempfile.mkdtemp(prefix="facetrace-mariadb-"))
    installer = _binary("mariadb-install-db", "mysql_install_db")
    # --no-defaults: the host's my.cnf (user, log paths, socket) belongs to its own server, not ours.
    subprocess.run([installer, "--no-defaults", f"--datadir={datadir}", "--auth-root-authentication-method=normal",
                    "--user=root", "--skip-test-db"], check=True, capture_output=True)
    port = _free_port()
    process = subprocess.Popen(
        [mariadbd, "--no-defaults", f"--datadir={datadir}", f"--port={port}", "--bind-address=127.0.0.1", f"--socket={datadir}/sock",
         "--user=root", "--skip-log-bin", f"--pid-file={datadir}/pid"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = Server(f"mysql://root@127.0.0.1:{port}/", process, datadir)
    _wait_until_up(server)
    logger.info("private MariaDB started", extra={"port": port, "datadir": str(datadir)})
    return server


def _wait_until_up(server: Server, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not reachable(server.url):
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError("the private MariaDB did not start")
        time.sleep(0.3)


def _binary(*names: str) -> str | None:
    for name in names:
        for folder in (None, "/usr/sbin", "/usr/bin", "/usr/local/bin"):
            found = shutil.which(name, path=folder)
            if found:
                return found
    return None


def _install() -> str | None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None
    logger.info("installing mariadb-server from Debian packages")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "mariadb-server"], check=True, env=env)
    return _binary("mariadbd", "mysqld")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
