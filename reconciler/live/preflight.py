"""Plan preflight: read-only checks that what apply will need for data imports exists (issue 14).

For every Dataset with a `dataImport`:

* the data location's bucket exists, and the object (or, for a `.../` folder, at least one object under it) is
  there - checked by listing (ListObjectsV2), the only object read the plan role is granted; with `localFile`
  the object may be missing (apply uploads it), but the bucket must exist;
* the import role exists and trusts `personalize.amazonaws.com` (iam:GetRole);
* the bucket policy lets the Personalize service principal read (s3:GetBucketPolicy);
* where the bucket is encrypted with a customer KMS key, the key exists (kms:DescribeKey), with a reminder
  that the role needs kms:Decrypt on it.

Everything is a read. A read the plan role may not do (AccessDenied) is a warning saying what was not checked,
never an error. The planner stays pure: the CLI plans first, runs `preflight()` for the datasets
`needs_checks()` names (those the plan creates, replaces or imports into: a location that already served its
import is not re-checked, so a no-op plan makes no preflight call) and `merge()` adds the findings to the
plan's errors and warnings.

The reads run in parallel (`concurrency` threads), each at most once: one bucket probe, bucket policy and
encryption read per bucket, one listing per data location, one GetRole per role, one DescribeKey per key;
the object, policy and encryption reads of a bucket start as soon as its probe says it can be listed. The
findings are then derived from those answers in the manifests' order, exactly as one call at a time would.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Collection, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from reconciler.model.address import Address, Kind
from reconciler.model.spec import DatasetSpec

PERSONALIZE_PRINCIPAL = "personalize.amazonaws.com"
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AllAccessDisabled"}
READ_ACTIONS = {"s3:getobject", "s3:get*", "s3:*", "*"}
LIST_ACTIONS = {"s3:listbucket", "s3:list*", "s3:*", "*"}


@dataclass(frozen=True)
class Finding:
    """One missing piece: an error (apply would fail) or a warning (not checked, or a reminder)."""

    address: Address
    where: str
    """The manifest's file:line of the resource."""
    field: str
    message: str
    hint: str = ""
    error: bool = True
    note: bool = False
    """Not a problem: a note for the dataset's import change (what apply will upload)."""

    def text(self) -> str:
        out = f"{self.where}: {self.address}: {self.field}: {self.message}"
        return out + (f"\n  hint: {self.hint}" if self.hint else "")


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def split_s3(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` -> (bucket, key)."""
    rest = uri[len("s3://") :] if uri.startswith("s3://") else uri
    bucket, _, key = rest.partition("/")
    return bucket, key


def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        document = json.loads(unquote_plus(document) if document.startswith("%7B") else document)
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    return [statements] if isinstance(statements, dict) else [s for s in statements if isinstance(s, dict)]


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _names_personalize(principal: Any) -> bool:
    if principal == "*":
        return False  # public access is not a grant to check for; treat as not naming the service
    if isinstance(principal, dict):
        return PERSONALIZE_PRINCIPAL in _listed(principal.get("Service"))
    return False


def trusts_personalize(document: Any) -> bool:
    """The role's trust policy lets personalize.amazonaws.com assume it."""
    for statement in _statements(document):
        if statement.get("Effect") != "Allow" or not _names_personalize(statement.get("Principal")):
            continue
        if any(a.lower() in ("sts:assumerole", "sts:*", "*") for a in _listed(statement.get("Action"))):
            return True
    return False


def policy_lets_personalize_read(document: Any) -> tuple[bool, bool]:
    """(GetObject allowed, ListBucket allowed) for the Personalize service principal."""
    read = listing = False
    for statement in _statements(document):
        if statement.get("Effect") != "Allow" or not _names_personalize(statement.get("Principal")):
            continue
        actions = {a.lower() for a in _listed(statement.get("Action"))}
        read = read or bool(actions & READ_ACTIONS)
        listing = listing or bool(actions & LIST_ACTIONS)
    return read, listing


class _Checker:
    def __init__(self, target: Any, base_dir: Path, setup: str | None = None) -> None:
        self.target = target
        self.base_dir = base_dir
        self.setup = setup
        """The command that creates buckets, bucket policies and import roles in an emulated account
        (`emulator prepare ...`), named by the hints; None for a real account (the user's own tooling)."""
        self.findings: list[Finding] = []
        self._buckets: dict[str, str | None] = {}
        self._policies: dict[str, Any] = {}
        self._roles: dict[str, Any] = {}
        self._objects: dict[tuple[str, str], bool | str] = {}
        self._encryption: dict[str, str | None] = {}
        self._keys: dict[str, str | None] = {}
        self._kms: Any = None
        self._lock = threading.Lock()

    def add(
        self, address: Address, where: str, field: str, message: str, hint: str = "", *, error: bool
    ) -> None:
        finding = Finding(address, where, field, message, hint, error)
        if finding not in self.findings:
            self.findings.append(finding)

    # --- S3 ------------------------------------------------------------------------------------------

    def bucket_state(self, bucket: str) -> str | None:
        """None when the bucket can be listed, else the error code (NoSuchBucket, AccessDenied...)."""
        if bucket not in self._buckets:
            try:
                self.target.s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
                self._buckets[bucket] = None
            except Exception as exc:  # botocore ClientError or a connection problem: reported, not raised
                self._buckets[bucket] = _code(exc) or type(exc).__name__
        return self._buckets[bucket]

    def object_exists(self, bucket: str, key: str) -> bool | str:
        """Whether the object (or, for a folder, an object under it) is there, or the error code."""
        if (bucket, key) not in self._objects:
            folder = key == "" or key.endswith("/")
            try:
                found = self.target.s3.list_objects_v2(
                    Bucket=bucket, Prefix=key, MaxKeys=1000 if not folder else 1
                )
                keys = [obj.get("Key") for obj in found.get("Contents", [])]
                self._objects[bucket, key] = bool(keys) if folder else key in keys
            except Exception as exc:
                self._objects[bucket, key] = _code(exc) or type(exc).__name__
        return self._objects[bucket, key]

    def bucket_policy(self, bucket: str) -> Any:
        """The policy document, None when the bucket has none, or an error code string."""
        if bucket not in self._policies:
            try:
                self._policies[bucket] = self.target.s3.get_bucket_policy(Bucket=bucket)["Policy"]
            except Exception as exc:
                code = _code(exc) or type(exc).__name__
                self._policies[bucket] = None if code == "NoSuchBucketPolicy" else ("error", code)
        return self._policies[bucket]

    def bucket_kms_key(self, bucket: str) -> str | None:
        if bucket not in self._encryption:
            self._encryption[bucket] = self._read_kms_key(bucket)
        return self._encryption[bucket]

    def _read_kms_key(self, bucket: str) -> str | None:
        try:
            rules = self.target.s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
        except Exception:
            return None  # no default encryption (or not readable): nothing to check
        for rule in rules.get("Rules", []):
            default = rule.get("ApplyServerSideEncryptionByDefault", {})
            if default.get("SSEAlgorithm", "").startswith("aws:kms") and default.get("KMSMasterKeyID"):
                return str(default["KMSMasterKeyID"])
        return None

    def kms_key_state(self, key: str) -> str | None:
        """None when DescribeKey finds the key, else the error code."""
        if key not in self._keys:
            with self._lock:  # one KMS client, made on first use (boto3 sessions are not thread-safe)
                if self._kms is None:
                    self._kms = self.target.client("kms")
            try:
                self._kms.describe_key(KeyId=key)
                self._keys[key] = None
            except Exception as exc:
                self._keys[key] = _code(exc) or type(exc).__name__
        return self._keys[key]

    # --- all reads at once ---------------------------------------------------------------------------

    def prefetch(self, imports: list[tuple[str, str, str | None]], concurrency: int) -> None:
        """Make every read the checks need, in parallel, each once: `imports` are (bucket, key, roleArn)."""
        keys: dict[str, set[str]] = {}
        for bucket, key, _ in imports:
            keys.setdefault(bucket, set()).add(key)
        roles = sorted({role for _, _, role in imports if role})
        if not keys and not roles:
            return
        self.target.s3  # noqa: B018 - the shared clients are made here, before any thread asks for them
        if roles:
            self.target.iam  # noqa: B018
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="preflight")
        try:

            def kms(bucket: str) -> None:
                key = self.bucket_kms_key(bucket)
                if key is not None:
                    self.kms_key_state(key)

            def bucket_reads(bucket: str) -> list[Future[Any]]:
                if self.bucket_state(bucket) is not None:
                    return []  # the checks stop at the bucket (as check_dataset does)
                started = [pool.submit(self.bucket_policy, bucket), pool.submit(kms, bucket)]
                return started + [pool.submit(self.object_exists, bucket, k) for k in sorted(keys[bucket])]

            probes = [pool.submit(bucket_reads, b) for b in sorted(keys)]
            lookups = [pool.submit(self.role, r) for r in roles]
            for probe in probes:
                for future in probe.result():
                    future.result()
            for lookup in lookups:
                lookup.result()
        except BaseException as exc:  # Ctrl-C: no queued check starts, none in flight is waited for
            interrupted = isinstance(exc, KeyboardInterrupt)
            pool.shutdown(wait=not interrupted, cancel_futures=interrupted)
            raise
        pool.shutdown(wait=True)

    # --- IAM -----------------------------------------------------------------------------------------

    def role(self, arn: str) -> Any:
        """The role (dict), or ("error", code)."""
        if arn not in self._roles:
            name = arn.rsplit("/", 1)[-1]
            try:
                self._roles[arn] = self.target.iam.get_role(RoleName=name)["Role"]
            except Exception as exc:
                self._roles[arn] = ("error", _code(exc) or type(exc).__name__)
        return self._roles[arn]

    # --- one dataset ---------------------------------------------------------------------------------

    def check_dataset(self, address: Address, where: str, spec: DatasetSpec) -> None:
        imp = spec.dataImport
        if imp is None:
            return
        bucket, key = split_s3(imp.dataLocation)
        loc = "spec.dataImport.dataLocation"
        state = self.bucket_state(bucket)
        if state in ("NoSuchBucket", "404"):
            self.add(
                address,
                where,
                loc,
                f"bucket '{bucket}' does not exist (NoSuchBucket); apply would fail at the import",
                f"create it in the emulated account with `{self.setup}` (the bucket with its bucket policy "
                "and the import role of every dataImport), or fix dataLocation"
                if self.setup
                else "create the bucket (and give Personalize read access), or fix dataLocation",
                error=True,
            )
        elif state in DENIED:
            self.add(
                address,
                where,
                loc,
                f"bucket '{bucket}' was not checked: the plan role may not list it ({state})",
                "grant the plan role s3:ListBucket on it to have plan check the data location",
                error=False,
            )
        elif state is not None:
            self.add(address, where, loc, f"bucket '{bucket}' could not be checked ({state})", error=False)
        else:
            self._check_object(address, where, imp.dataLocation, bucket, key, imp.localFile)
            self._check_bucket_policy(address, where, bucket)
            self._check_kms(address, where, bucket, imp.roleArn)
        if imp.roleArn:
            self._check_role(address, where, imp.roleArn)
        if imp.localFile is not None:
            self._upload_note(address, where, imp.localFile, imp.dataLocation)

    def _upload_note(self, address: Address, where: str, local: str, uri: str) -> None:
        path = Path(local) if Path(local).is_absolute() else self.base_dir / local
        shown = display(path)
        try:
            size = f"{path.stat().st_size:,} bytes"
        except OSError:
            return  # validate warns about a missing local file
        self.findings.append(
            Finding(
                address,
                where,
                "spec.dataImport.localFile",
                f"apply uploads {shown} ({size}) to {uri} when it differs from the object there",
                error=False,
                note=True,
            )
        )

    def _check_object(
        self, address: Address, where: str, uri: str, bucket: str, key: str, local: str | None
    ) -> None:
        exists = self.object_exists(bucket, key)
        if isinstance(exists, str):
            self.add(
                address,
                where,
                "spec.dataImport.dataLocation",
                f"{uri} was not checked ({exists})",
                error=False,
            )
            return
        if exists or local is not None:
            return  # with localFile, apply uploads the file first (the plan's note says so)
        what = "no object under" if key == "" or key.endswith("/") else "no object at"
        self.add(
            address,
            where,
            "spec.dataImport.dataLocation",
            f"{what} {uri}; apply would fail at the import",
            "upload the data first, set dataImport.localFile to have apply upload it, or fix dataLocation",
            error=True,
        )

    def _check_bucket_policy(self, address: Address, where: str, bucket: str) -> None:
        policy = self.bucket_policy(bucket)
        field = "spec.dataImport.dataLocation"
        if isinstance(policy, tuple):
            code = policy[1]
            if code in DENIED:
                self.add(
                    address,
                    where,
                    field,
                    f"the bucket policy of '{bucket}' was not checked: "
                    f"the plan role may not read it ({code})",
                    error=False,
                )
            return
        hint = (
            f"add a bucket policy statement allowing Principal {{Service: {PERSONALIZE_PRINCIPAL}}} "
            f"s3:GetObject and s3:ListBucket on arn:aws:s3:::{bucket} and arn:aws:s3:::{bucket}/*"
        )
        if self.setup:
            hint += f" (in the emulated account, `{self.setup}` puts such a bucket policy)"
        if policy is None:
            self.add(
                address,
                where,
                field,
                f"bucket '{bucket}' has no bucket policy, so Personalize cannot read the data",
                hint,
                error=True,
            )
            return
        read, listing = policy_lets_personalize_read(policy)
        if not (read and listing):
            missing = " and ".join(
                a for a, ok in (("s3:GetObject", read), ("s3:ListBucket", listing)) if not ok
            )
            self.add(
                address,
                where,
                field,
                f"the bucket policy of '{bucket}' does not allow {PERSONALIZE_PRINCIPAL} {missing}",
                hint,
                error=True,
            )

    def _check_kms(self, address: Address, where: str, bucket: str, role: str | None) -> None:
        key = self.bucket_kms_key(bucket)
        if key is None:
            return
        field = "spec.dataImport.dataLocation"
        code = self.kms_key_state(key)
        if code is not None:
            if code == "NotFoundException":
                self.add(
                    address,
                    where,
                    field,
                    f"bucket '{bucket}' is encrypted with KMS key {key}, which does not exist",
                    "fix the bucket's default encryption, or create the key",
                    error=True,
                )
                return
            if code not in DENIED:
                return
        who = f"role {role.rsplit('/', 1)[-1]}" if role else "the import role"
        self.add(
            address,
            where,
            field,
            f"bucket '{bucket}' is encrypted with KMS key {key}: {who} needs kms:Decrypt and "
            "kms:GenerateDataKey on it, and the key policy must allow Personalize to use it",
            "not checked by plan (key policies are not read); see the Personalize guide's KMS permissions",
            error=False,
        )

    def _check_role(self, address: Address, where: str, arn: str) -> None:
        role = self.role(arn)
        field = "spec.dataImport.roleArn"
        if isinstance(role, tuple):
            code = role[1]
            if code == "NoSuchEntity":
                self.add(
                    address,
                    where,
                    field,
                    f"role {arn} does not exist; apply would fail at the import",
                    f"create it in the emulated account with `{self.setup}`, or fix roleArn"
                    if self.setup
                    else "create the role (trusting personalize.amazonaws.com, with read access to the "
                    "bucket), or fix roleArn",
                    error=True,
                )
            elif code in DENIED:
                self.add(
                    address,
                    where,
                    field,
                    f"role {arn} was not checked: the plan role may not read it ({code})",
                    "grant the plan role iam:GetRole on it to have plan check the import role",
                    error=False,
                )
            else:
                self.add(address, where, field, f"role {arn} could not be checked ({code})", error=False)
            return
        if not trusts_personalize(role.get("AssumeRolePolicyDocument", {})):
            self.add(
                address,
                where,
                field,
                f"role {arn} does not trust {PERSONALIZE_PRINCIPAL}, so Personalize cannot use it",
                f"add a trust policy statement: Allow, Principal {{Service: {PERSONALIZE_PRINCIPAL}}}, "
                "Action sts:AssumeRole",
                error=True,
            )


def display(path: Path) -> str:
    """`path` relative to the working directory when below it (as the user would type it)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:  # pragma: no cover - another drive on Windows
        return str(path)
    return str(path) if rel.startswith("..") else rel


def preflight(
    target: Any,
    desired: Any,
    only: Collection[Address] | None = None,
    *,
    concurrency: int = 16,
    setup: str | None = None,
) -> list[Finding]:
    """Read-only checks of every Dataset's data import (see the module doc), or of the datasets in `only`
    (`needs_checks(plan)`). The reads run on `concurrency` threads. Never raises for AWS errors. `setup`:
    against an emulated account, the command that creates a missing bucket, bucket policy or role there
    (`emulator prepare ...`), which the hints then name."""
    checker = _Checker(target, Path(getattr(desired, "base_dir", "") or os.curdir), setup)
    datasets = [
        res
        for res in desired.of_kind(Kind.DATASET)
        if isinstance(res.spec, DatasetSpec)
        and res.spec.dataImport is not None
        and (only is None or res.address in only)
    ]
    imports = []
    for res in datasets:
        bucket, key = split_s3(res.spec.dataImport.dataLocation)
        imports.append((bucket, key, res.spec.dataImport.roleArn))
    checker.prefetch(imports, max(1, concurrency))
    for res in datasets:  # no call left to make: the findings in the manifests' order
        checker.check_dataset(res.address, str(res.source), res.spec)
    return checker.findings


def needs_checks(plan: Any) -> frozenset[Address]:
    """The datasets whose preflight findings count: those the plan creates, replaces or imports into (pure;
    by the actions' values: the live layer does not import the planner's types)."""
    return frozenset(
        c.address
        for c in plan.changes
        if str(c.action.value) in ("create", "replace", "import") and c.address.kind is Kind.DATASET
    )


def merge(plan: Any, findings: Iterable[Finding]) -> Any:
    """`plan` with the findings that matter added to its errors and warnings: those of datasets the plan
    creates, replaces or imports into (pure)."""
    acting = needs_checks(plan)
    relevant = [f for f in findings if f.address in acting]
    if not relevant:
        return plan
    errors = tuple(f.text() for f in relevant if f.error)
    warnings = tuple(f.text() for f in relevant if not f.error and not f.note)
    notes: dict[Address, list[str]] = {}
    for finding in relevant:
        if finding.note:
            notes.setdefault(finding.address, []).append(finding.message)
    changes = list(plan.changes)
    for address, extra in notes.items():
        importing = [
            i for i, c in enumerate(changes) if c.address == address and str(c.action.value) == "import"
        ]
        if importing:
            change = changes[importing[0]]
            changes[importing[0]] = dataclasses.replace(change, notes=(*change.notes, *extra))
    return dataclasses.replace(
        plan, changes=tuple(changes), errors=(*plan.errors, *errors), warnings=(*plan.warnings, *warnings)
    )
