"""`Once` on powertools' idempotency utility (DynamoDB persistence): a side effect runs at most once per key."""

from __future__ import annotations

from typing import Any, Callable

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer

# Longer than any SQS retention (14 days max), so a redelivered alert can never send twice.
EXPIRES_AFTER_S = 15 * 24 * 3600


class IdempotentOnce:
    """Runs an action once per key; a repeat returns the first run's result without running it."""

    def __init__(self, persistence: BasePersistenceLayer, expires_after_s: int = EXPIRES_AFTER_S) -> None:
        self._persistence = persistence
        self._config = IdempotencyConfig(
            event_key_jmespath="key", raise_on_no_idempotency_key=True, expires_after_seconds=expires_after_s
        )

    @classmethod
    def on_dynamodb(cls, table_name: str, dynamodb: Any) -> "IdempotentOnce":
        """The guard on a DynamoDB table (partition key `id`, TTL attribute `expiration`)."""
        return cls(DynamoDBPersistenceLayer(table_name=table_name, boto3_client=dynamodb))

    def register_lambda_context(self, context: Any) -> None:
        """Let powertools expire an in-progress record when the invocation that wrote it times out."""
        self._config.register_lambda_context(context)

    def run(self, key: str, action: Callable[[], str]) -> str:
        """Run action unless key was already done; return the action's (stored) result."""

        @idempotent_function(data_keyword_argument="request", config=self._config, persistence_store=self._persistence)
        def guarded(request: dict) -> dict:
            return {"result": action()}

        return guarded(request={"key": key})["result"]
