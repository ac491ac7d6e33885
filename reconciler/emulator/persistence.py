"""Persist a whole emulated account to a state file, and load it back.

A state file holds everything a user would see in the emulated account:

* ``personalize``: the emulator's own ``snapshot()`` (every Personalize resource, faults excluded);
* ``clock``: the virtual time the emulator had reached, so a restarted server does not go back in time;
* ``moto``: what moto serves next to the emulator, read and written back through ordinary boto3 calls
  (never through moto internals, which change between moto releases):

  - S3: buckets (with region and bucket policy) and objects (content type, user metadata, body);
  - SSM: parameters (String, StringList, SecureString) of every region the account used;
  - IAM: roles (trust policy, description, path), their inline policies and attached managed policies, and
    customer managed policies (default version).

Object bodies are stored next to the state file, content-addressed, in ``<state file stem>.blobs/`` (one file
per distinct body, named by its SHA-256), so saving after every request only writes what changed. The JSON
file itself is replaced atomically (temporary file in the same directory, ``fsync``, ``os.replace``); blobs
are written before the JSON that refers to them and pruned after it, so a crash at any point leaves a
consistent pair.

Not persisted: S3 versioning, lifecycle rules, ACLs, multipart uploads in progress, IAM users/groups/access
keys, STS sessions, anything of services other than Personalize/S3/SSM/IAM.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

STATE_FORMAT = "personalize-gitops/emulator-state"
STATE_VERSION = 1

#: moto services whose state is saved (requests to other services never change the saved state).
MOTO_SERVICES = ("s3", "ssm", "iam")

ClientFactory = Callable[[str, str], Any]
"""``(service, region) -> boto3 client`` reaching the moto backends that should be saved or restored."""


class StateFileError(Exception):
    """The state file cannot be read or written (message says which file and what to do)."""


def blob_dir_for(state_path: Path) -> Path:
    return state_path.with_name(state_path.stem + ".blobs")


class BlobStore:
    """Content-addressed bodies next to the state file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.root / digest
        if not target.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            _atomic_write_bytes(target, data)
        return digest

    def get(self, digest: str) -> bytes:
        try:
            return (self.root / digest).read_bytes()
        except OSError as exc:
            raise StateFileError(
                f"object body {digest} is missing from {self.root}: {exc.strerror}; "
                "the state file and its .blobs directory must be kept together"
            ) from exc

    def prune(self, keep: set[str]) -> None:
        if not self.root.is_dir():
            return
        for entry in self.root.iterdir():
            if entry.name not in keep and len(entry.name) == 64:
                with contextlib.suppress(OSError):
                    entry.unlink()


def _atomic_write_bytes(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix="." + target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --------------------------------------------------------------------------------------------- S3


class S3Dumper:
    """Reads every bucket and object; remembers stored bodies (by ETag) so repeated saves are cheap."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self._known: dict[tuple[str, str], tuple[str, int, str]] = {}

    def dump(self, s3: Any) -> list[dict[str, Any]]:
        buckets: list[dict[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for bucket in sorted(b["Name"] for b in s3.list_buckets().get("Buckets", [])):
            location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
            policy: str | None = None
            try:
                policy = s3.get_bucket_policy(Bucket=bucket)["Policy"]
            except s3.exceptions.ClientError as exc:
                if _code(exc) not in ("NoSuchBucketPolicy", "NoSuchBucket"):
                    raise
            objects: list[dict[str, Any]] = []
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    key = item["Key"]
                    seen.add((bucket, key))
                    objects.append(self._object(s3, bucket, key, item["ETag"], int(item["Size"])))
            buckets.append({"name": bucket, "region": location, "policy": policy, "objects": objects})
        for gone in set(self._known) - seen:
            del self._known[gone]
        return buckets

    def _object(self, s3: Any, bucket: str, key: str, etag: str, size: int) -> dict[str, Any]:
        cached = self._known.get((bucket, key))
        head = s3.head_object(Bucket=bucket, Key=key)
        content_type = head.get("ContentType") or "binary/octet-stream"
        metadata = dict(head.get("Metadata") or {})
        if cached is not None and cached[0] == etag and cached[1] == size:
            digest = cached[2]
        else:
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            digest = self.blobs.put(body)
            self._known[(bucket, key)] = (etag, size, digest)
        return {"key": key, "blob": digest, "size": size, "contentType": content_type, "metadata": metadata}

    def remember(self, bucket: str, key: str, etag: str, size: int, digest: str) -> None:
        self._known[(bucket, key)] = (etag, size, digest)


def restore_s3(
    s3_for: Callable[[str], Any],
    buckets: list[dict[str, Any]],
    blobs: BlobStore,
    dumper: S3Dumper | None = None,
) -> None:
    for bucket in buckets:
        name, region = bucket["name"], bucket.get("region") or "us-east-1"
        s3 = s3_for(region)
        kwargs: dict[str, Any] = {"Bucket": name}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**kwargs)
        except s3.exceptions.ClientError as exc:
            if _code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        if bucket.get("policy"):
            s3.put_bucket_policy(Bucket=name, Policy=bucket["policy"])
        for obj in bucket.get("objects", []):
            body = blobs.get(obj["blob"])
            out = s3.put_object(
                Bucket=name,
                Key=obj["key"],
                Body=body,
                ContentType=obj.get("contentType") or "binary/octet-stream",
                Metadata=obj.get("metadata") or {},
            )
            if dumper is not None:
                dumper.remember(name, obj["key"], out["ETag"], len(body), obj["blob"])


# -------------------------------------------------------------------------------------------- SSM


def dump_ssm(ssm: Any) -> list[dict[str, Any]]:
    described: dict[str, dict[str, Any]] = {}
    for page in ssm.get_paginator("describe_parameters").paginate():
        for p in page.get("Parameters", []):
            described[p["Name"]] = p
    names = sorted(described)
    params: list[dict[str, Any]] = []
    for start in range(0, len(names), 10):
        for p in ssm.get_parameters(Names=names[start : start + 10], WithDecryption=True).get(
            "Parameters", []
        ):
            entry: dict[str, Any] = {"name": p["Name"], "type": p["Type"], "value": p["Value"]}
            if described[p["Name"]].get("Description"):
                entry["description"] = described[p["Name"]]["Description"]
            params.append(entry)
    return sorted(params, key=lambda p: str(p["name"]))


def restore_ssm(ssm: Any, params: list[dict[str, Any]]) -> None:
    for p in params:
        kwargs: dict[str, Any] = {
            "Name": p["name"],
            "Type": p["type"],
            "Value": p["value"],
            "Overwrite": True,
        }
        if p.get("description"):
            kwargs["Description"] = p["description"]
        ssm.put_parameter(**kwargs)


# -------------------------------------------------------------------------------------------- IAM


def _policy_text(document: Any) -> str:
    # botocore URL-decodes policy documents and json-decodes them into dicts for IAM; keep JSON text.
    return document if isinstance(document, str) else json.dumps(document, sort_keys=True)


def dump_iam(iam: Any) -> dict[str, Any]:
    policies: list[dict[str, Any]] = []
    for page in iam.get_paginator("list_policies").paginate(Scope="Local"):
        for pol in page.get("Policies", []):
            version = iam.get_policy_version(PolicyArn=pol["Arn"], VersionId=pol["DefaultVersionId"])
            entry: dict[str, Any] = {
                "name": pol["PolicyName"],
                "path": pol.get("Path", "/"),
                "document": _policy_text(version["PolicyVersion"]["Document"]),
            }
            if pol.get("Description"):
                entry["description"] = pol["Description"]
            policies.append(entry)
    roles: list[dict[str, Any]] = []
    for page in iam.get_paginator("list_roles").paginate():
        for role in page.get("Roles", []):
            name = role["RoleName"]
            full = iam.get_role(RoleName=name)["Role"]
            attached = [
                a["PolicyArn"]
                for p in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name)
                for a in p.get("AttachedPolicies", [])
            ]
            inline = {}
            for p in iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for pname in p.get("PolicyNames", []):
                    doc = iam.get_role_policy(RoleName=name, PolicyName=pname)["PolicyDocument"]
                    inline[pname] = _policy_text(doc)
            entry = {
                "name": name,
                "path": full.get("Path", "/"),
                "trustPolicy": _policy_text(full.get("AssumeRolePolicyDocument", "{}")),
                "attached": sorted(attached),
                "inline": inline,
            }
            if full.get("Description"):
                entry["description"] = full["Description"]
            roles.append(entry)
    return {
        "policies": sorted(policies, key=lambda p: str(p["name"])),
        "roles": sorted(roles, key=lambda r: str(r["name"])),
    }


def restore_iam(iam: Any, data: dict[str, Any]) -> None:
    for pol in data.get("policies", []):
        kwargs: dict[str, Any] = {
            "PolicyName": pol["name"],
            "Path": pol.get("path", "/"),
            "PolicyDocument": pol["document"],
        }
        if pol.get("description"):
            kwargs["Description"] = pol["description"]
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_policy(**kwargs)
    for role in data.get("roles", []):
        kwargs = {
            "RoleName": role["name"],
            "Path": role.get("path", "/"),
            "AssumeRolePolicyDocument": role["trustPolicy"],
        }
        if role.get("description"):
            kwargs["Description"] = role["description"]
        with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
            iam.create_role(**kwargs)
        for arn in role.get("attached", []):
            iam.attach_role_policy(RoleName=role["name"], PolicyArn=arn)
        for pname, doc in role.get("inline", {}).items():
            iam.put_role_policy(RoleName=role["name"], PolicyName=pname, PolicyDocument=doc)


def needs_aws_managed_policies(data: dict[str, Any]) -> bool:
    """Whether a saved account attaches AWS managed policies (``arn:aws:iam::aws:policy/...``): moto must then
    load its copy of them (off by default) before the state is restored."""
    try:
        roles = ((data.get("moto") or {}).get("iam") or {}).get("roles") or []
        return any(
            str(arn).startswith("arn:aws:iam::aws:policy/") for r in roles for arn in r.get("attached", [])
        )
    except (AttributeError, TypeError):  # a damaged file: restoring it reports where
        return False


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


# ---------------------------------------------------------------------------------- the state file


class AccountState:
    """Saves and loads one emulated account (Personalize snapshot + moto services) to ``path``.

    ``client_for(service, region)`` must return boto3 clients that reach the same moto backends the user
    talks to (an in-process bridge to moto's server app for ``emulator serve``; plain clients under
    ``mock_aws`` for ``--local``). ``ssm_regions``: the regions whose SSM parameters are saved (SSM is
    regional). ``save`` is thread-safe; concurrent callers are serialised.
    """

    def __init__(
        self,
        path: Path,
        client_for: ClientFactory,
        *,
        ssm_regions: Iterable[str] = (),
        regions: Iterable[str] = (),
    ) -> None:
        self.path = Path(path)
        self.blobs = BlobStore(blob_dir_for(self.path))
        self._client_for = client_for
        self._s3 = S3Dumper(self.blobs)
        self._lock = threading.Lock()
        self._moto_cache: dict[str, Any] = {}
        self.ssm_regions: set[str] = {*ssm_regions, *regions}  # ``regions``: the earlier name

    # --------------------------------------------------------------------------------- loading

    def read(self) -> dict[str, Any] | None:
        """The parsed state file, or None when it does not exist yet."""
        damaged = "restore it from a backup or delete it to start with an empty account"
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateFileError(f"cannot read emulator state {self.path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise StateFileError(
                f"{self.path}: emulator state is not UTF-8 text (byte {exc.start}: {exc.reason}); {damaged}"
            ) from exc
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            where = f"{self.path}:{exc.lineno}:{exc.colno}"
            raise StateFileError(f"{where}: emulator state is not valid JSON ({exc.msg}); {damaged}") from exc
        except RecursionError as exc:
            raise StateFileError(f"{self.path}: emulator state is nested too deeply; {damaged}") from exc
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise StateFileError(
                f"{self.path} is not a personalize-gitops emulator state file (missing "
                f'"format": "{STATE_FORMAT}"); pass another --state file or delete this one'
            )
        if data.get("version") != STATE_VERSION:
            raise StateFileError(
                f"{self.path} has emulator state version {data.get('version')!r}, this release reads "
                f"version {STATE_VERSION}; delete the file to start with an empty account"
            )
        for key in ("clock", "personalize", "moto"):
            if not isinstance(data.get(key) or {}, dict):
                raise StateFileError(f'{self.path}: "{key}" is not a JSON object; {damaged}')
        return data

    def restore_personalize(self, emulator: Any, data: dict[str, Any]) -> None:
        """``emulator.restore`` of the file's Personalize section; a damaged one is a StateFileError that
        names the file (the snapshot's own checks raise ValueError, a value of the wrong JSON type others)."""
        if not data.get("personalize"):
            return
        try:
            emulator.restore(data["personalize"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StateFileError(
                f"cannot restore the account saved in {self.path}: {type(exc).__name__}: {exc}; the file is "
                "damaged: restore it from a backup or delete it to start with an empty account"
            ) from exc

    def restore_moto(self, data: dict[str, Any]) -> None:
        """Recreate S3 buckets and objects, SSM parameters and IAM roles/policies from ``data`` in moto's
        (empty) backends. Afterwards moto holds exactly what ``data`` describes, so saves that do not name a
        service reuse it instead of reading that service again."""
        moto_state = data.get("moto") or {}
        iam = moto_state.get("iam") or {"policies": [], "roles": []}
        s3 = moto_state.get("s3") or []
        ssm = moto_state.get("ssm") or {}
        try:
            self.ssm_regions.update(str(region) for region in moto_state.get("ssmRegions", []))
            if iam.get("policies") or iam.get("roles"):
                restore_iam(self._client_for("iam", "us-east-1"), iam)
            restore_s3(lambda region: self._client_for("s3", region), s3, self.blobs, self._s3)
            for region, params in sorted(ssm.items()):
                restore_ssm(self._client_for("ssm", region), params)
        except StateFileError:
            raise
        except Exception as exc:  # botocore errors from moto: the file describes something moto refuses
            raise StateFileError(f"cannot restore the account saved in {self.path}: {exc}") from exc
        self._moto_cache = {"s3": s3, "ssm": ssm, "iam": iam}

    def start_empty(self) -> None:
        """No state file yet and moto's backends are empty: nothing to read back until a service is used."""
        self._moto_cache = {"s3": [], "ssm": {}, "iam": {"policies": [], "roles": []}}

    # ---------------------------------------------------------------------------------- saving

    def dump_moto(self, services: Iterable[str] | None = None) -> dict[str, Any]:
        """moto's state; with ``services`` (e.g. ``{"s3"}``) only those are read again, the others come from
        the previous dump (the server knows which service each request changed)."""
        wanted = set(MOTO_SERVICES) if services is None else set(services) & set(MOTO_SERVICES)
        wanted |= set(MOTO_SERVICES) - set(self._moto_cache)
        if "s3" in wanted:
            self._moto_cache["s3"] = self._s3.dump(self._client_for("s3", "us-east-1"))
        if "ssm" in wanted:
            ssm: dict[str, list[dict[str, Any]]] = {}
            for region in sorted(self.ssm_regions):
                params = dump_ssm(self._client_for("ssm", region))
                if params:
                    ssm[region] = params
            self._moto_cache["ssm"] = ssm
        if "iam" in wanted:
            self._moto_cache["iam"] = dump_iam(self._client_for("iam", "us-east-1"))
        return {"ssmRegions": sorted(self.ssm_regions), **self._moto_cache}

    def save(
        self, personalize: dict[str, Any], clock_now: float | None, *, services: Iterable[str] | None = None
    ) -> None:
        """Write the state file. ``services``: the moto services that may have changed since the last save
        (None: all of them; an empty set: Personalize only)."""
        with self._lock:
            moto_state = self.dump_moto(services)
            document = {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "clock": {"now": clock_now},
                "personalize": personalize,
                "moto": moto_state,
            }
            text = json.dumps(document, indent=1, sort_keys=True)
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _atomic_write_bytes(self.path, text.encode("utf-8"))
            except OSError as exc:
                raise StateFileError(f"cannot write emulator state {self.path}: {exc.strerror}") from exc
            self.blobs.prune({o["blob"] for b in moto_state["s3"] for o in b["objects"]})
