"""Forward schema migrations (yoyo), the same files locally and at deploy time."""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import quote

from aws_lambda_powertools import Logger
from yoyo import get_backend, read_migrations

logger = Logger(child=True)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def migrate(db_url: str) -> list[str]:
    """Apply every pending migration to the database at db_url; return the ids applied."""
    backend = get_backend(_yoyo_url(db_url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with backend.lock():
        pending = backend.to_apply(migrations)
        backend.apply_migrations(pending)
    applied = [m.id for m in pending]
    logger.info("migrations applied", extra={"applied": applied})
    return applied


def _yoyo_url(db_url: str) -> str:
    # yoyo's "mysql" scheme uses PyMySQL, the driver the rest of FaceTrace uses; it wants TLS as a CA file.
    url = "mysql://" + db_url.split("://", 1)[1]
    cafile = ssl.get_default_verify_paths().openssl_cafile
    return url.replace("ssl=true", f"ssl=1&sslca={quote(cafile, safe='')}")
