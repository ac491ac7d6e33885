"""A `dataImport.localFile` written to while apply uploads it (an editor saving, a pipeline writing the next
export), against the emulator and moto S3 through the real apply (`run_apply` with the reviewed plan).

Apply must upload, record and import exactly the bytes it hashed, and those must be the plan's: a file
changed after the hash must not reach S3 under the planned SHA-256 (the object's metadata that later runs
trust as "already uploaded"), and one changed while it is read stops the step before anything is uploaded
or imported. The file is read once."""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from apply_support import World

from reconciler import s3data
from reconciler.model.state import TAG_SOURCE_ETAG, TAG_SOURCE_SHA256
from reconciler.plan import planfile
from reconciler.plan.types import Action, Plan

BUCKET, KEY = "mini-data", "interactions.csv"
_open = builtins.open


class Writer:
    """Another process writing the local file while apply works on it: it appends `extra` once apply has
    read `after` bytes of the file (mid-read), or, with `after=None`, once apply's first read of the file is
    over (its handle closed: right after the hash). Counts the bytes apply reads from the file. Only reads
    made while `armed` are watched (not the reads of the account before and after the steps)."""

    def __init__(self, path: Path, extra: bytes, after: int | None) -> None:
        self.path = os.path.realpath(path)
        self.extra, self.after = extra, after
        self.bytes_read = 0
        self.edited = False
        self.armed = False

    def edit(self) -> None:
        if not self.edited:
            self.edited = True
            with _open(self.path, "ab") as handle:
                handle.write(self.extra)

    def open(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = _open(file, mode, *args, **kwargs)
        watched = isinstance(file, str | os.PathLike) and os.path.realpath(file) == self.path
        if self.armed and watched and "r" in mode:
            return _Watched(handle, self)
        return handle


class _Watched:
    def __init__(self, handle: Any, writer: Writer) -> None:
        self._handle, self._writer = handle, writer

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._handle.read(size)
        self._writer.bytes_read += len(data)
        if self._writer.after is not None and self._writer.bytes_read >= self._writer.after:
            self._writer.edit()
        return data

    def close(self) -> None:
        self._handle.close()
        if self._writer.after is None:
            self._writer.edit()

    def __enter__(self) -> _Watched:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def _sha256(data: bytes) -> str:
    return s3data.SHA256_PREFIX + hashlib.sha256(data).hexdigest()


def _object(mini: World) -> tuple[bytes, str | None]:
    """The data location's bytes and the SHA-256 recorded on it (the metadata later runs trust)."""
    s3 = mini.target.s3
    body: bytes = s3.get_object(Bucket=BUCKET, Key=KEY)["Body"].read()
    metadata = s3.head_object(Bucket=BUCKET, Key=KEY).get("Metadata") or {}
    return body, metadata.get(s3data.SHA256_METADATA)


def _imports(mini: World) -> list[dict[str, Any]]:
    return list(mini.personalize.list_dataset_import_jobs()["datasetImportJobs"])


def _reviewed(mini: World) -> tuple[Path, bytes, Plan]:
    """After a first apply, the local file gets a new line and `plan --out` plans its import: the reviewed
    file and plan (as saved and read back)."""
    assert mini.apply().exit_code == 0
    local = mini.root / "data" / "interactions.csv"  # type: ignore[attr-defined]
    reviewed = local.read_bytes() + local.read_bytes().splitlines(keepends=True)[-1]
    local.write_bytes(reviewed)
    saved = planfile.loads(planfile.dumps(mini.plan()))
    imports = [c for c in saved.changes if c.action is Action.IMPORT]
    assert [c.payload.fingerprint for c in imports] == [_sha256(reviewed)]  # type: ignore[union-attr]
    return local, reviewed, saved


def _watch(mini: World, writer: Writer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Route opens through `writer`, armed between apply's first read of the account and its final one;
    returns the (empty) temporary directory apply is given."""
    scratch = mini.root / "tmp"  # type: ignore[attr-defined]
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(builtins, "open", writer.open)
    monkeypatch.setattr(io, "open", writer.open)  # Path.open
    read_live, reads = mini.live, []

    def live() -> Any:
        writer.armed = False
        state = read_live()
        reads.append(state)
        writer.armed = len(reads) == 1
        return state

    monkeypatch.setattr(mini, "live", live)
    return scratch


@pytest.mark.parametrize("multipart", [False, True], ids=["single-part", "multipart"])
def test_local_file_changed_right_after_the_hash_uploads_and_imports_only_the_hashed_bytes(
    mini: World, monkeypatch: pytest.MonkeyPatch, multipart: bool
) -> None:
    """The file changes right after apply hashed it (SHA-256 = the plan's): what is uploaded, labelled with
    that SHA-256 and imported must be those bytes, not the file as it is at upload time; the file is read
    once."""
    if multipart:
        monkeypatch.setattr(s3data, "MULTIPART_THRESHOLD", 64 * 1024)  # 150 KB: a multipart upload
    local, reviewed, saved = _reviewed(mini)
    extra = b"u-next,i-next,OrderCompleted,1700000000,false\n"
    writer = Writer(local, extra, after=None)
    scratch = _watch(mini, writer, monkeypatch)
    before = len(_imports(mini))
    result = mini.apply(saved_plan=saved)
    # the whole plan ran; the plan made after it sees the edit: exit 5, "plan again" (import it next time)
    assert result.exit_code == 5, result.summary().details() if result.summary() else result
    assert "import Dataset/interactions" in "\n".join(result.summary().details())
    assert writer.edited and local.read_bytes() == reviewed + extra  # the concurrent edit happened
    body, label = _object(mini)
    assert label == _sha256(body)  # the object's recorded SHA-256 is the SHA-256 of its bytes
    assert body == reviewed  # the reviewed bytes were uploaded (and imported), not the edited file
    if multipart:
        assert mini.target.s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"].strip('"').endswith("-1")
    jobs = _imports(mini)
    assert len(jobs) == before + 1
    newest = max(jobs, key=lambda j: j["creationDateTime"])
    listed = mini.personalize.list_tags_for_resource(resourceArn=newest["datasetImportJobArn"])["tags"]
    tags = {t["tagKey"]: t["tagValue"] for t in listed}
    assert tags[TAG_SOURCE_SHA256] == _sha256(reviewed)
    assert writer.bytes_read == len(reviewed)  # read once: hashed and uploaded from the same read
    assert list(scratch.iterdir()) == []  # no copy left behind
    # the next plan sees the edit and imports it: nothing trusts a wrong "already uploaded"
    monkeypatch.setattr(builtins, "open", _open)
    monkeypatch.setattr(io, "open", _open)
    again = mini.plan()
    assert [c.action for c in again.changes if c.action is Action.IMPORT] == [Action.IMPORT]
    assert mini.apply().exit_code == 0
    assert _object(mini) == (reviewed + extra, _sha256(reviewed + extra))


def test_local_file_changed_while_apply_reads_it_stops_before_anything_is_uploaded(
    mini: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file changes while apply reads it: the bytes read are not the plan's file, so the step stops
    before CreateDatasetImportJob, says which file changed, that nothing was uploaded or imported, and to
    plan again; the object in S3 keeps its bytes and its (true) label."""
    monkeypatch.setattr(s3data, "READ_CHUNK", 16 * 1024)
    local, reviewed, saved = _reviewed(mini)
    old_object = _object(mini)
    writer = Writer(local, b"u-next,i-next,OrderCompleted,1700000000,false\n", after=16 * 1024)
    scratch = _watch(mini, writer, monkeypatch)
    before = len(_imports(mini))
    result = mini.apply(saved_plan=saved)
    assert result.exit_code == 1
    details = "\n".join(result.summary().details())
    assert "dataImport.localFile ../data/interactions.csv" in details
    assert "changed since the plan: plan again" in details
    assert "nothing was uploaded or imported" in details
    assert _sha256(reviewed)[:19] in details
    assert writer.edited and writer.bytes_read <= len(reviewed) + len(writer.extra)
    assert len(_imports(mini)) == before
    assert _object(mini) == old_object and old_object[1] == _sha256(old_object[0])
    assert list(scratch.iterdir()) == []


def test_no_room_for_the_private_copy_stops_before_the_upload_and_says_what_to_do(
    mini: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upload copies the file first (`s3data.snapshot`); when the temporary directory cannot take the
    copy the step stops with what to do (room, or TMPDIR), and nothing is uploaded or imported."""
    _local, _reviewed_bytes, saved = _reviewed(mini)
    old_object = _object(mini)
    monkeypatch.setattr(tempfile, "tempdir", str(mini.root / "no-such-dir"))  # type: ignore[attr-defined]
    before = len(_imports(mini))
    result = mini.apply(saved_plan=saved)
    assert result.exit_code == 1
    details = "\n".join(result.summary().details())
    assert "cannot copy dataImport.localFile" in details and "no-such-dir" in details
    assert "nothing was uploaded or imported" in details and "TMPDIR" in details
    assert len(_imports(mini)) == before
    assert _object(mini) == old_object


def test_object_already_holding_the_planned_file_is_not_uploaded_again_and_the_file_is_read_once(
    mini: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new import of the same file (here a new trigger): the object's recorded SHA-256 is the plan's, so
    apply uploads nothing, reads the file once to check it is still the plan's, and records the ETag of
    that very object (read in the same HeadObject as its SHA-256)."""
    assert mini.apply().exit_code == 0
    local = mini.root / "data" / "interactions.csv"  # type: ignore[attr-defined]
    resources = mini.manifests / "resources.yaml"
    text = resources.read_text(encoding="utf-8")
    resources.write_text(
        text.replace("    localFile:", "    trigger: again\n    localFile:"), encoding="utf-8"
    )
    mini.reload()
    saved = planfile.loads(planfile.dumps(mini.plan()))
    assert [c.action for c in saved.changes if c.action is Action.IMPORT] == [Action.IMPORT]
    writes: list[str] = []
    for operation in ("PutObject", "CreateMultipartUpload"):
        mini.target.s3.meta.events.register(
            f"before-call.s3.{operation}", lambda model, **_: writes.append(model.name)
        )
    writer = Writer(local, b"", after=None)
    _watch(mini, writer, monkeypatch)
    assert mini.apply(saved_plan=saved).exit_code == 0
    assert writes == []
    assert writer.bytes_read == local.stat().st_size
    etag = mini.target.s3.head_object(Bucket=BUCKET, Key=KEY)["ETag"].strip('"')
    jobs = _imports(mini)
    newest = max(jobs, key=lambda j: j["creationDateTime"])
    listed = mini.personalize.list_tags_for_resource(resourceArn=newest["datasetImportJobArn"])["tags"]
    assert {t["tagKey"]: t["tagValue"] for t in listed}[TAG_SOURCE_ETAG] == etag
