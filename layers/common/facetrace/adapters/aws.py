"""boto3 adapters for S3, SQS, SNS and SES behind FaceTrace's ports."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from facetrace.errors import StoreUnavailable
from facetrace.ports import ObjectInfo, ObjectMissing, ReceivedMessage, UploadForm

_CHUNK = 8 * 1024 * 1024
_RETRIES = Config(retries={"max_attempts": 5, "mode": "standard"}, signature_version="s3v4")


def client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    """A boto3 client; endpoint_url points at moto locally and is None in AWS."""
    return boto3.client(service, region_name=region, endpoint_url=endpoint_url, config=_RETRIES)


class S3Objects:
    """ObjectStore on one S3 bucket."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self.bucket = bucket

    def head(self, key: str) -> ObjectInfo:
        head = self._s3.head_object(Bucket=self.bucket, Key=key)
        return ObjectInfo(head["ContentLength"], head.get("ContentType"), dict(head.get("Metadata", {})))

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def get(self, key: str) -> bytes:
        try:
            return self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self._s3.exceptions.NoSuchKey:
            raise ObjectMissing(f"no object {key}") from None

    def get_if_exists(self, key: str) -> bytes | None:
        try:
            return self.get(key)
        except ObjectMissing:
            return None

    def read(self, key: str, etag: str | None = None) -> tuple[bytes, ObjectInfo] | None:
        obj = self._get_if_match(key, etag)
        if obj is None:
            return None
        body = obj["Body"].read()
        return body, ObjectInfo(len(body), obj.get("ContentType"), dict(obj.get("Metadata", {})))

    def _get_if_match(self, key: str, etag: str | None) -> dict | None:
        """The GetObject answer, or None if the object is gone or (given an ETag) no longer those bytes."""
        args = {"Bucket": self.bucket, "Key": key, **({"IfMatch": f'"{etag.strip(chr(34))}"'} if etag else {})}
        try:
            return self._s3.get_object(**args)
        except self._s3.exceptions.NoSuchKey:
            return None
        except ClientError as exc:
            if _code(exc) in ("PreconditionFailed", "412"):
                return None
            raise

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def put_once(self, key: str, body: bytes, content_type: str, metadata: dict[str, str]) -> bool:
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type,
                                Metadata=metadata, IfNoneMatch="*")
        except ClientError as exc:
            # 409 ConditionalRequestConflict: a concurrent write to the same key won; either way it exists.
            if _code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict", "409"):
                return False
            raise
        return True

    def presign_post(
        self, key: str, content_type: str, min_bytes: int, max_bytes: int, metadata: dict[str, str], expires_in: int
    ) -> UploadForm:
        fields = {"Content-Type": content_type, **{f"x-amz-meta-{k}": v for k, v in metadata.items()}}
        conditions = [["content-length-range", min_bytes, max_bytes], *({k: v} for k, v in fields.items())]
        post = self._s3.generate_presigned_post(
            Bucket=self.bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
        )
        return UploadForm(post["url"], post["fields"], key, expires_in)

    def presign_get(self, key: str, expires_in: int) -> str:
        return self._s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
        )

    def delete(self, key: str) -> None:
        self._s3.delete_object(Bucket=self.bucket, Key=key)

    # Large objects (footage): streamed, copied server-side, uploaded in parts.
    def download(self, key: str, path: str, etag: str | None = None) -> ObjectInfo | None:
        """Stream the object to a file (bounded memory); None if it is gone or no longer the bytes of `etag`."""
        obj = self._get_if_match(key, etag)
        if obj is None:
            return None
        size = 0
        with open(path, "wb") as handle:
            for chunk in obj["Body"].iter_chunks(_CHUNK):
                handle.write(chunk)
                size += len(chunk)
        return ObjectInfo(size, obj.get("ContentType"), dict(obj.get("Metadata", {})))

    def copy_once(self, source_key: str, key: str, etag: str | None, content_type: str,
                  metadata: dict[str, str]) -> bool:
        """Copy one version of an object to a key that does not exist yet; False when the key existed."""
        if self.exists(key):
            return False
        extra = {"ContentType": content_type, "Metadata": metadata, "MetadataDirective": "REPLACE",
                 **({"CopySourceIfMatch": f'"{etag.strip(chr(34))}"'} if etag else {})}
        # Managed copy: one CopyObject up to 5 GB, UploadPartCopy beyond (S3 copies, nothing passes through here).
        self._s3.copy({"Bucket": self.bucket, "Key": source_key}, self.bucket, key, ExtraArgs=extra)
        return True

    def start_multipart(self, key: str, content_type: str) -> str:
        """Begin a multipart upload of `key`; its upload id."""
        return self._s3.create_multipart_upload(Bucket=self.bucket, Key=key, ContentType=content_type)["UploadId"]

    def presign_part(self, key: str, upload_id: str, number: int, expires_in: int) -> str:
        """A presigned PUT for one part of a multipart upload."""
        return self._s3.generate_presigned_url(
            "upload_part", Params={"Bucket": self.bucket, "Key": key, "UploadId": upload_id, "PartNumber": number},
            ExpiresIn=expires_in)

    def complete_multipart(self, key: str, upload_id: str, parts: list[tuple[int, str]]) -> None:
        """Join the uploaded parts into the object (S3 then announces it as created)."""
        self._s3.complete_multipart_upload(
            Bucket=self.bucket, Key=key, UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": f'"{e.strip(chr(34))}"'} for n, e in parts]})


class SQSQueue:
    """Queue on one SQS queue URL (standard or FIFO)."""

    def __init__(self, sqs: Any, url: str) -> None:
        self._sqs = sqs
        self.url = url

    def send(self, body: str, dedup_id: str | None = None) -> None:
        args: dict[str, Any] = {"QueueUrl": self.url, "MessageBody": body}
        if self.url.endswith(".fifo"):
            args["MessageGroupId"] = "jobs"
            args["MessageDeduplicationId"] = dedup_id or hashlib.sha256(body.encode()).hexdigest()
        self._sqs.send_message(**args)


class SNSPublisher:
    """Publisher on one SNS topic."""

    def __init__(self, sns: Any, topic_arn: str) -> None:
        self._sns = sns
        self.topic_arn = topic_arn

    def publish(self, message: str, subject: str | None = None, attributes: dict[str, str] | None = None) -> str:
        args: dict[str, Any] = {"TopicArn": self.topic_arn, "Message": message}
        if subject:
            args["Subject"] = subject
        if attributes:
            args["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
        return self._sns.publish(**args)["MessageId"]

    def send_sms(self, phone_number: str, message: str) -> str:
        """Text one phone number directly (not through the topic)."""
        return self._sns.publish(PhoneNumber=phone_number, Message=message)["MessageId"]


class SESMailer:
    """Mailer on Amazon SES (v1 API, plain text)."""

    def __init__(self, ses: Any) -> None:
        self._ses = ses

    def send(self, sender: str, to: list[str], subject: str, text: str) -> str:
        response = self._ses.send_email(
            Source=sender,
            Destination={"ToAddresses": to},
            Message={"Subject": {"Data": subject, "Charset": "UTF-8"}, "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}},
        )
        return response["MessageId"]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def db_url_from_secret(secrets: Any, secret_arn: str, host: str | None, database: str) -> str:
    """Build a MySQL URL from an RDS-style Secrets Manager secret (username, password, host, port)."""
    try:
        secret = json.loads(secrets.get_secret_value(SecretId=secret_arn)["SecretString"])
    except (ClientError, BotoCoreError) as exc:
        # Throttled or unreachable Secrets Manager: the database is as good as down for this request.
        raise StoreUnavailable(f"database credentials unavailable: {exc}") from exc
    host = host or secret["host"]
    port = secret.get("port", 3306)
    user, password = quote(secret["username"], safe=""), quote(secret["password"], safe="")
    return f"mysql://{user}:{password}@{host}:{port}/{database}?ssl=true"


class SQSJobSource:
    """The worker's JobSource on an SQS queue (long polling, batch delete, visibility extension)."""

    def __init__(self, sqs: Any, url: str) -> None:
        self._sqs = sqs
        self.url = url

    def receive(self, max_jobs: int, wait_s: int) -> list[ReceivedMessage]:
        response = self._sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=min(max_jobs, 10), WaitTimeSeconds=wait_s,
            AttributeNames=["ApproximateReceiveCount"],
        )
        return [ReceivedMessage(m["MessageId"], m["ReceiptHandle"], m["Body"],
                                int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")))
                for m in response.get("Messages", [])]

    def delete(self, receipts: list[str]) -> None:
        for start in range(0, len(receipts), 10):
            entries = [{"Id": str(i), "ReceiptHandle": r} for i, r in enumerate(receipts[start : start + 10])]
            self._sqs.delete_message_batch(QueueUrl=self.url, Entries=entries)

    def extend(self, receipts: list[str], seconds: int) -> None:
        for start in range(0, len(receipts), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": r, "VisibilityTimeout": seconds}
                for i, r in enumerate(receipts[start : start + 10])
            ]
            self._sqs.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)


class StepFunctionsSegmentSearch:
    """The sighting archive's fan-out in AWS: one synchronous Express execution whose Map state searches every
    segment with the archive search function, in parallel."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._sfn, self._arn = client, state_machine_arn

    def search(self, keys, refs, since, min_score):
        """Every segment's hits (facetrace.sighting_archive.SegmentSearch)."""
        from facetrace.sighting_archive import SegmentTask, hits_of  # numpy only where the fan-out runs

        payload = {"segments": list(keys), "task": SegmentTask.query(refs, since, min_score)}
        try:
            run = self._sfn.start_sync_execution(stateMachineArn=self._arn, input=json.dumps(payload))
        except (BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"archive search could not start: {exc}") from exc
        if run.get("status") != "SUCCEEDED":
            raise StoreUnavailable(f"archive search {run.get('status')}: {run.get('error')} {run.get('cause')}")
        return hits_of([answer["hits"] for answer in json.loads(run["output"])])
