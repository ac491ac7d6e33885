"""Data fingerprints without the MD5 assumption, and streamed uploads of `dataImport.localFile` (issue 11,
finding 9).

An S3 ETag is the MD5 of the data only for single-part uploads without SSE-KMS; for multipart uploads
(`<md5 of part md5s>-<parts>`) and SSE-KMS objects it is not. So the tool never compares an ETag with a hash
of a local file. It compares like with like:

* **the S3 object**: its ETag now (read with ListObjectsV2, which needs only s3:ListBucket) against the ETag
  recorded on the import job when it was imported (tag `personalize-gitops:source-etag`); an ETag is an opaque
  version marker here, whatever algorithm made it;
* **a localFile**: its SHA-256 (hashed streamed, never read whole) against the SHA-256 recorded on the import
  job (tag `personalize-gitops:source-sha256`). Apply uploads it only when the object's recorded SHA-256
  (object metadata written at upload, read with HeadObject) differs, with boto3's transfer manager
  (multipart above `MULTIPART_THRESHOLD`, streamed from disk, each part checked by S3 with a SHA-256
  checksum). What it uploads is a private copy made while hashing (`snapshot`): the file is read once, and
  the bytes uploaded and labelled with a SHA-256 are exactly the bytes that SHA-256 was computed from, even
  when something writes to the file meanwhile.

Imports made by earlier versions recorded the MD5 of the local file as source-etag; `LEGACY_MD5_PREFIX` keys
carry the local file's MD5 (computed in the same single read) so such an import is still recognised.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

#: Files above this size are uploaded in parts (S3 needs parts of 5 MiB at least, the last one excepted).
MULTIPART_THRESHOLD = 16 * 1024 * 1024
PART_SIZE = 16 * 1024 * 1024
#: Parts uploaded at once (memory held by an upload is about PART_SIZE x UPLOAD_CONCURRENCY).
UPLOAD_CONCURRENCY = 4
READ_CHUNK = 1024 * 1024
#: Object metadata key holding the SHA-256 of the uploaded local file (x-amz-meta-personalize-gitops-sha256).
SHA256_METADATA = "personalize-gitops-sha256"
SHA256_PREFIX = "sha256:"
#: LiveState.s3_etags key prefix for the MD5 of a localFile (only to recognise imports of earlier versions).
LEGACY_MD5_PREFIX = "local-md5:"


def split_location(location: str) -> tuple[str, str]:
    bucket, _, key = location.removeprefix("s3://").partition("/")
    return bucket, key


def file_digests(path: Path) -> tuple[str, str]:
    """(`sha256:<hex>`, md5 hex) of a file, read once in chunks (memory: one chunk)."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            sha.update(chunk)
            md5.update(chunk)
    return SHA256_PREFIX + sha.hexdigest(), md5.hexdigest()


class CopyFailed(Exception):
    """`snapshot` could not write its private copy (e.g. no room in the temporary directory)."""

    def __init__(self, directory: str, error: OSError) -> None:
        super().__init__(f"{error.strerror or error} in {directory}")
        self.directory = directory
        self.error = error


def snapshot(path: Path) -> tuple[Path, str]:
    """A private copy of `path` (in the temporary directory, readable by its owner only) and `sha256:<hex>`
    of exactly the bytes copied, from one read of `path` (memory: one chunk). Uploading the copy uploads the
    bytes hashed, whatever writes to `path` meanwhile. The caller deletes the copy; it is deleted here when
    reading or writing fails. Errors reading `path` are raised as they are; writing the copy: `CopyFailed`."""
    directory = tempfile.gettempdir()
    try:
        descriptor, name = tempfile.mkstemp(prefix="personalize-gitops-upload-", suffix=path.suffix)
    except OSError as exc:
        raise CopyFailed(directory, exc) from exc
    copy = Path(name)
    try:
        sha = hashlib.sha256()
        with os.fdopen(descriptor, "wb") as target, path.open("rb") as source:
            while chunk := source.read(READ_CHUNK):
                sha.update(chunk)
                try:
                    target.write(chunk)
                except OSError as exc:
                    raise CopyFailed(directory, exc) from exc
            try:
                target.flush()
            except OSError as exc:
                raise CopyFailed(directory, exc) from exc
    except BaseException:
        copy.unlink(missing_ok=True)
        raise
    return copy, SHA256_PREFIX + sha.hexdigest()


def normalize_etag(etag: object) -> str:
    """The ETag without its quotes (tag values cannot hold quotes)."""
    return str(etag or "").strip('"')


def object_etag(s3: Any, location: str) -> str | None:
    """The ETag of the object at `location` via ListObjectsV2 (s3:ListBucket only); None when it is missing.

    The key itself sorts first among the keys it prefixes, so one page of one key answers."""
    bucket, key = split_location(location)
    page = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    for item in page.get("Contents", []):
        if item.get("Key") == key:
            return normalize_etag(item.get("ETag"))
    return None


def head_etag(s3: Any, location: str) -> str | None:
    """The ETag of the object at `location` via HeadObject (s3:GetObject, what an upload needs anyway); None
    when it is missing; other errors are raised."""
    bucket, key = split_location(location)
    try:
        return normalize_etag(s3.head_object(Bucket=bucket, Key=key).get("ETag"))
    except Exception as exc:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        if code in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise


LISTED_PAGES_PER_BUCKET = 8
"""Pages of ListObjectsV2 one bucket's shared listing may take (`object_etags`) before the keys it has not
reached are read one by one: a bucket whose keys share a prefix with few other objects costs one call for a
thousand locations; one holding a big data lake costs at most this many calls more than one call per key."""


def shared_prefix(keys: list[str]) -> str | None:
    """The prefix one listing of a bucket's data locations uses (`object_etags`): the longest prefix the
    keys share, when there are at least two keys and they share one; None: read each key on its own. The
    plan role's policy (`iam-policy`) grants ListBucket on exactly this prefix, so the listing stays within
    the folder the stack's data lives in (a whole-bucket listing is never made)."""
    wanted = sorted(set(keys))
    if len(wanted) < 2:
        return None
    first, final = wanted[0], wanted[-1]
    shared = next((i for i, (a, b) in enumerate(zip(first, final, strict=False)) if a != b), len(first))
    return first[:shared] or None


def object_etags(
    s3: Any, bucket: str, keys: list[str], page_size: int = 1000
) -> tuple[dict[str, str | None], list[str]]:
    """The ETags of several `keys` of one bucket from one listing of their `shared_prefix`.

    Returns (settled, unread): `settled` maps each key the listing reached to its ETag, or None when the
    listing went past it and it was not there (missing); `unread` are the keys it did not reach within
    `LISTED_PAGES_PER_BUCKET` pages (or half as many pages as keys), for the caller to read one by one with
    `object_etag`. The listing starts just before the first key (StartAfter) and stops once it is past the
    last one; S3 lists keys in UTF-8 byte order, which is Python's order of `str`."""
    wanted = sorted(set(keys))
    want = set(wanted)
    budget = max(1, min(LISTED_PAGES_PER_BUCKET, len(wanted) // 2))
    request: dict[str, Any] = {"Bucket": bucket, "Prefix": shared_prefix(wanted) or "", "MaxKeys": page_size}
    if len(wanted[0]) > 1:
        request["StartAfter"] = wanted[0][:-1]  # a proper prefix of the first key sorts just before it
    found: dict[str, str] = {}
    complete, last = False, ""  # every key <= last has been listed; complete: the whole listing
    for pages in range(1, budget + 1):
        page = s3.list_objects_v2(**request)
        contents = page.get("Contents", [])
        for item in contents:
            if item.get("Key") in want:
                found[str(item["Key"])] = normalize_etag(item.get("ETag"))
        last = str(contents[-1]["Key"]) if contents else last
        complete = not page.get("IsTruncated")
        if complete or last >= wanted[-1] or pages == budget:
            break
        request["ContinuationToken"] = page["NextContinuationToken"]
    reached = wanted if complete else [key for key in wanted if key <= last]
    settled: dict[str, str | None] = {key: found.get(key) for key in reached}
    return settled, [key for key in wanted if key not in settled]


def uploaded_object(s3: Any, bucket: str, key: str) -> tuple[str | None, str | None]:
    """(the SHA-256 this tool recorded when it uploaded the object, its ETag), from one HeadObject, so both
    describe the same object; the SHA-256 is None when the object was uploaded by something else, both when
    it is missing or cannot be read (the caller uploads)."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except Exception:  # missing object or no access: the caller uploads
        return None, None
    value = (head.get("Metadata") or {}).get(SHA256_METADATA)
    return (str(value) if value else None), normalize_etag(head.get("ETag"))


class ReplacedAfterUpload(Exception):
    """The object read back after an upload is not the upload (another writer replaced it meanwhile)."""

    def __init__(self, found: str | None) -> None:
        super().__init__(f"its recorded SHA-256 is {found or 'none'}")
        self.found = found


def upload_file(s3: Any, path: Path, bucket: str, key: str, sha256: str) -> str:
    """Upload `path` streamed (multipart above MULTIPART_THRESHOLD, SHA-256 checksums), recording its
    SHA-256 as object metadata; returns the new object's ETag, read back with HeadObject: when the object
    there no longer records `sha256` (replaced by another writer since), `ReplacedAfterUpload`, so that
    object's ETag is never taken for the upload's."""
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=PART_SIZE,
        max_concurrency=UPLOAD_CONCURRENCY,
        use_threads=UPLOAD_CONCURRENCY > 1,
    )
    s3.upload_file(
        str(path),
        bucket,
        key,
        ExtraArgs={"ChecksumAlgorithm": "SHA256", "Metadata": {SHA256_METADATA: sha256}},
        Config=config,
    )
    head = s3.head_object(Bucket=bucket, Key=key)
    recorded = (head.get("Metadata") or {}).get(SHA256_METADATA)
    if recorded != sha256:
        raise ReplacedAfterUpload(str(recorded) if recorded else None)
    return normalize_etag(head.get("ETag"))
