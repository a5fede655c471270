"""The whole local system in one object: MySQL, the moto stack, the functions, the worker and the API."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

from aws_lambda_powertools import Logger

from facetrace.adapters.mysql import MySQLStore
from facetrace.db.migrate import migrate
from devstack import database, outbox
from devstack.gateway import LocalGateway, routes_from_template
from devstack.inbox import SentEmail, SentText, sent_emails, sent_texts
from devstack.runtime import LocalRuntime
from devstack.stack import LocalStack, container_env

logger = Logger(child=True)


@dataclass
class LocalSystem:
    """Brings up everything FaceTrace needs on this machine; `step` moves every stage forward once."""

    pack: str = "dlib"
    previous_pack: str | None = None  # during a model change: the pack the galleries were built with
    model_dir: str | None = None  # where a named pack's files may already be (hashes pinned)
    stack_name: str = "facetrace-local"  # moto's state is per process: two systems need two names
    db_name: str = field(default_factory=lambda: f"facetrace_local_{uuid.uuid4().hex[:8]}")
    server: database.Server | None = None
    keep_database: bool = False

    def start(self) -> "LocalSystem":
        """Start (or find) MySQL, migrate, start moto with the template's resources, the worker and the API."""
        self._own_server = self.server is None
        self.server = self.server or database.find_or_start()
        self.db_url = database.create_database(self.server.url, self.db_name)
        migrate(self.db_url)
        self.store = MySQLStore.from_url(self.db_url)
        self.stack = LocalStack(stack_name=self.stack_name).start()
        api = self.stack.resources("AWS::Serverless::Function")["ApiFunction"]
        # The gateway first: its address is the portal's, which the functions need (alert e-mails link to it).
        retention = self.stack.function_env("ApiFunction").get("FACETRACE_RETENTION_DAYS")
        self.gateway = LocalGateway(routes_from_template(api), lambda e: self.runtime.invoke("ApiFunction", e),
                                    pages={outbox.PATH: lambda: outbox.page(self.emails(), self.texts())},
                                    portal_config={"retentionDays": int(retention)} if retention else None)
        self.runtime = LocalRuntime(self.stack, self.db_url, portal_url=f"{self.gateway.url}/portal")
        self.worker = self._build_worker()
        self.gateway.start()
        return self

    def _build_worker(self):
        from gpu_worker.__main__ import build_worker  # the face engine is only needed when the worker runs

        settings = self.stack.settings_for(container_env(self.stack), pack=self.pack, model_dir=self.model_dir,
                                           previous_pack=self.previous_pack, worker_wait_s=0, db_url=None)
        return build_worker(settings)

    def switch_pack(self, pack: str, previous_pack: str | None = None) -> str:
        """Redeploy the worker with another pack (and the previous one, during a model change); its model's name."""
        self.pack, self.previous_pack = pack, previous_pack
        self.worker = self._build_worker()
        return self.worker.engine.model.name

    def operator_env(self) -> dict[str, str]:
        """The FACETRACE_* environment an operator's `facetrace` commands need against this stack."""
        settings = self.runtime.settings("IngestFunction")  # it knows the bucket and the jobs queue
        return {"FACETRACE_DB_URL": self.db_url, "FACETRACE_UPLOAD_BUCKET": settings.upload_bucket,
                "FACETRACE_JOBS_QUEUE_URL": settings.jobs_queue_url, "FACETRACE_AWS_REGION": settings.aws_region,
                "FACETRACE_AWS_ENDPOINT_URL": settings.aws_endpoint_url or "",
                "FACETRACE_RETENTION_DAYS": str(settings.retention_days)}

    def stop(self) -> None:
        """Stop what this object started; the database is dropped unless keep_database."""
        self.gateway.stop()
        self.stack.stop()
        self.store.db.close()
        if not self.keep_database:
            database.drop_database(self.server.url, self.db_name)
        if self._own_server:
            self.server.stop()

    def step(self) -> int:
        """Deliver every queue once (functions and worker); return how many messages moved."""
        return self.runtime.pump() + self.worker.poll_once()

    def run_until(self, done: Callable[[], bool], timeout_s: float = 60) -> bool:
        """Step until done() is true or the timeout passes; True when done."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if done():
                return True
            if self.step() == 0:
                time.sleep(0.05)
        return done()

    def drain(self, timeout_s: float = 60) -> None:
        """Step until no stage has anything left to do."""
        deadline = time.monotonic() + timeout_s
        idle = 0
        while idle < 3 and time.monotonic() < deadline:
            idle = idle + 1 if self.step() == 0 else 0

    def run_in_background(self, containers: int = 1) -> threading.Event:
        """Run each function in `containers` threads (each its own handler instance) and the worker in one."""
        stop = threading.Event()
        runtimes = [self.runtime] + [self.runtime.clone() for _ in range(containers - 1)]
        # Long polling, like Lambda's pollers: a message is taken as soon as it arrives, without a request storm.
        loops = [lambda rt=rt, fn=fn: rt.pump_function(fn, wait_s=1) for rt in runtimes for fn in self.runtime.consumers()]
        loops.append(self.worker.poll_once)
        for loop in loops:
            threading.Thread(target=_until, args=(stop, loop), daemon=True).start()
        return stop

    def emails(self) -> list[SentEmail]:
        """E-mails SES accepted so far."""
        return sent_emails(self.stack.region)

    def texts(self) -> list[SentText]:
        """Text messages SNS accepted so far (direct and through SMS topics)."""
        return sent_texts(self.stack.region)


def _until(stop: threading.Event, step: Callable[[], int]) -> None:
    while not stop.is_set():
        try:
            moved = step()
        except Exception:
            logger.exception("local stage failed")
            moved = 0
        if moved == 0:
            time.sleep(0.02)
