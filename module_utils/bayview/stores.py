"""Where restore points live: an S3-compatible bucket or a local directory.

Chosen by one URL (`restore_point_store`), with the S3 settings beside it: the modules take them
as one `store` option (argument_spec, documented by the bayview_store doc fragment; playbooks pass
bayview_store) and open it with from_params.
  s3://bucket/prefix   AWS S3, DigitalOcean Spaces, MinIO, … through boto3 (optional
                       endpoint_url and region); credentials from the standard boto3 chain.
  file:///path         a local directory (the rehearsal default).

Both stream: an upload takes an iterator of chunks and holds at most one part in memory; a
download yields chunks. An upload that does not finish leaves no complete object: S3
multipart uploads are aborted (and cleaned up later by cleanup_incomplete if that failed too);
files are written under a temporary name and renamed only when complete.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from ansible.module_utils.bayview.errors import RunbookError

PART_SIZE = 8 * 1024 * 1024  # S3 parts must be >= 5 MiB except the last
CHUNK_SIZE = 1024 * 1024
PARTIAL_SUFFIX = ".partial"


class StoreError(RunbookError):
    pass


class FileStore:
    def __init__(self, root: str) -> None:
        self.root = Path(root)
        self.url = f"file://{self.root}"
        self.encryption = "none (file mode 0600; use an encrypted volume)"

    def _path(self, key: str) -> Path:
        return self.root / key

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StoreError(
                f"The restore point store {self.url} cannot be used: {exc.strerror}.",
                "create the directory (writable by the operator running the playbook) or set restore_point_store.",
            ) from None

    def upload_stream(self, key: str, chunks: Iterator[bytes]) -> int:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = target.with_name(target.name + PARTIAL_SUFFIX)
        size = 0
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
                    size += len(chunk)
                fh.flush()
                os.fsync(fh.fileno())
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, target)
        return size

    def put_small(self, key: str, data: bytes) -> None:
        self.upload_stream(key, iter([data]))

    def download_stream(self, key: str) -> Iterator[bytes]:
        try:
            fh = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise StoreError(
                f"{self.url}/{key} does not exist.", "list the restore points and pick one that does."
            ) from None
        with fh:
            while chunk := fh.read(CHUNK_SIZE):
                yield chunk

    def get_small(self, key: str) -> bytes:
        return b"".join(self.download_stream(key))

    def list_keys(self, prefix: str) -> list[str]:
        base = self._path(prefix)
        if not base.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._path(key).parent.rmdir()  # only when empty

    def cleanup_incomplete(self, prefix: str, older_than: datetime) -> int:
        """Remove partial files of uploads that died (older than the cutoff: not still running)."""
        removed = 0
        for key in self.list_keys(prefix):
            mtime = datetime.fromtimestamp(self._path(key).stat().st_mtime, UTC)
            if key.endswith(PARTIAL_SUFFIX) and mtime < older_than:
                self.delete(key)
                removed += 1
        return removed


class S3Store:
    def __init__(
        self,
        bucket: str,
        prefix: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        sse: str = "AES256",
        kms_key_id: str | None = None,
        timeout_s: int = 60,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.url = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.endpoint = endpoint_url or "AWS"
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=10,
                read_timeout=timeout_s,
            ),
        )
        self.sse = sse
        self.kms_key_id = kms_key_id
        self.encryption = f"S3 server-side {sse}" + (f" (key {kms_key_id})" if kms_key_id else "")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _encryption_args(self) -> dict:
        if self.sse == "none":
            return {}
        args = {"ServerSideEncryption": self.sse}
        if self.sse == "aws:kms" and self.kms_key_id:
            args["SSEKMSKeyId"] = self.kms_key_id
        return args

    def _error(self, exc: Exception, doing: str) -> StoreError:
        """Turn a boto3 error into a sentence naming the bucket, endpoint and next step."""
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

        where = f"{self.url} (endpoint {self.endpoint})"
        if isinstance(exc, NoCredentialsError):
            return StoreError(
                f"No S3 credentials were found while {doing} at {where}.",
                "provide them through the standard AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY "
                "from the vault, a profile, or an instance role); never as plain playbook variables.",
            )
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchBucket", "404"):
                return StoreError(
                    f"The bucket {self.bucket} does not exist at {self.endpoint} ({doing}).",
                    "create the bucket (private, with encryption at rest) or fix restore_point_store.",
                )
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "InvalidToken"):
                return StoreError(
                    f"The S3 credentials were rejected ({code}) while {doing} at {where}.",
                    "check the access key and secret in the vault, and that the key may read and write this bucket.",
                )
            return StoreError(
                f"S3 refused {doing} at {where}: {code or exc}.", "check the bucket's policy and the endpoint."
            )
        if isinstance(exc, EndpointConnectionError):
            return StoreError(
                f"The S3 endpoint {self.endpoint} could not be reached while {doing}.",
                "check s3_endpoint_url, the network, and the provider's status page, then run again.",
            )
        return StoreError(f"S3 failed while {doing} at {where}: {exc}.", "check the endpoint and run again.")

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a sentence
            raise self._error(exc, "checking the bucket") from None

    def upload_stream(self, key: str, chunks: Iterator[bytes]) -> int:
        full = self._key(key)
        try:
            upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=full, **self._encryption_args())
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, f"starting the upload of {full}") from None
        upload_id, parts, size, buffer = upload["UploadId"], [], 0, bytearray()

        def send(data: bytes) -> None:
            number = len(parts) + 1
            reply = self.client.upload_part(
                Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=bytes(data)
            )
            parts.append({"ETag": reply["ETag"], "PartNumber": number})

        try:
            for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) >= PART_SIZE:
                    send(buffer[:PART_SIZE])
                    del buffer[:PART_SIZE]
            send(buffer)  # the last (or only) part may be small
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=full, UploadId=upload_id, MultipartUpload={"Parts": parts}
            )
        except BaseException as exc:
            with contextlib.suppress(Exception):  # if this fails too, cleanup_incomplete removes it later
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=full, UploadId=upload_id)
            if isinstance(exc, Exception) and not isinstance(exc, RunbookError):
                raise self._error(exc, f"uploading {full}") from None
            raise
        return size

    def put_small(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, **self._encryption_args())
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, f"writing {self._key(key)}") from None

    def download_stream(self, key: str) -> Iterator[bytes]:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, f"reading {self._key(key)}") from None
        try:
            yield from body.iter_chunks(CHUNK_SIZE)
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, f"reading {self._key(key)}") from None
        finally:
            body.close()

    def get_small(self, key: str) -> bytes:
        return b"".join(self.download_stream(key))

    def list_keys(self, prefix: str) -> list[str]:
        keys = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix)
            ):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    keys.append(key[len(self.prefix) + 1 :] if self.prefix else key)
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "listing restore points") from None
        return sorted(keys)

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, f"deleting {self._key(key)}") from None

    def cleanup_incomplete(self, prefix: str, older_than: datetime) -> int:
        """Abort multipart uploads that never completed (a run that died mid-upload)."""
        try:
            listed = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=self._key(prefix)).get("Uploads", [])
            uploads = [u for u in listed if u["Initiated"] < older_than]
            for upload in uploads:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "cleaning up unfinished uploads") from None
        return len(uploads)


SSE_CHOICES = ["AES256", "aws:kms", "none"]


def argument_spec(required: bool = True) -> dict:
    """The `store` option of every module that uses the store (plugins/doc_fragments/bayview_store.py)."""
    return {
        "store": {
            "type": "dict",
            "required": required,
            "options": {
                "url": {"type": "str", "required": True},
                "s3_endpoint_url": {"type": "str"},
                "s3_region": {"type": "str"},
                "s3_sse": {"type": "str", "choices": SSE_CHOICES, "default": "AES256"},
                "s3_kms_key_id": {"type": "str"},
            },
        }
    }


def from_params(store: dict, timeout_s: int = 60) -> FileStore | S3Store:
    """The store a module's validated `store` option names."""
    return open_store(
        store["url"], store["s3_endpoint_url"], store["s3_region"], store["s3_sse"], store["s3_kms_key_id"], timeout_s
    )


def open_store(
    url: str,
    endpoint_url: str | None = None,
    region: str | None = None,
    sse: str = "AES256",
    kms_key_id: str | None = None,
    timeout_s: int = 60,
) -> FileStore | S3Store:
    parsed = urlparse(url or "")
    if parsed.scheme == "file" and parsed.path.startswith("/"):
        return FileStore(parsed.path)
    if parsed.scheme == "s3" and parsed.netloc:
        return S3Store(parsed.netloc, parsed.path, endpoint_url, region, sse, kms_key_id, timeout_s)
    raise StoreError(
        f"restore_point_store {url!r} is not a store this runbook knows.",
        "use s3://bucket/prefix (with s3_endpoint_url for a non-AWS service) or file:///absolute/path.",
    )
