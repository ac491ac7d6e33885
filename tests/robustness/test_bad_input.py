"""Bad input never produces a traceback or an API call.

* the manifest corpus (tests/manifest/corpus/, each case next to the shared valid base);
* hypothesis fuzzing of the seed manifests: structural mutations (a key deleted, renamed, a value replaced by
  random YAML data, a document duplicated or its kind changed) and raw text mutations (a slice deleted, random
  characters or YAML syntax inserted).

Each input goes through `validate` and `plan --local` with typer's CliRunner. Every botocore API call fails
the test (the client method is replaced by a recorder), and `plan` must stop before it even opens a target
whenever `validate` rejects the manifests. Exit codes must be 0 or 1, never an uncaught exception.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reconciler.cli import app
from reconciler.errors import TargetError
from tests.manifest.corpus_support import case_text

from .support import REPO, has_traceback, tally

CORPUS = REPO / "tests" / "manifest" / "corpus"
SUITE = "bad input (corpus + hypothesis fuzzing)"
FAST_EXAMPLES = 120
SOAK_EXAMPLES = 2000


class Guard:
    """Records (and refuses) every botocore API call and every attempt to open a target."""

    def __init__(self) -> None:
        self.api_calls: list[str] = []
        self.targets_opened = 0

    def api_call(self, client: Any, operation: str, params: dict[str, Any]) -> Any:
        self.api_calls.append(operation)
        raise AssertionError(f"bad input made an API call: {operation}")

    def open_target(self, **_: Any) -> Any:
        self.targets_opened += 1
        raise TargetError("robustness guard: no target may be opened for these manifests")


@pytest.fixture
def guard() -> Iterator[Guard]:
    recorder = Guard()
    with (
        mock.patch("botocore.client.BaseClient._make_api_call", recorder.api_call),
        mock.patch("reconciler.aws.target.open_target", recorder.open_target),
    ):
        yield recorder


runner = CliRunner()


def check_input(directory: Path, guard: Guard, label: str) -> str:
    """validate + plan on `directory`; returns "valid" or "rejected"; fails on a traceback or an API call."""
    counts = tally(SUITE, ok_label="handled cleanly")
    counts.cases += 1
    calls_before, opened_before = len(guard.api_calls), guard.targets_opened
    validated = runner.invoke(app, ["validate", str(directory)], catch_exceptions=True)
    crashed = validated.exception is not None and not isinstance(validated.exception, SystemExit)
    if crashed or has_traceback(validated.output):
        counts.tracebacks += 1
        raise AssertionError(f"{label}: validate crashed: {validated.exception!r}\n{validated.output}")
    assert validated.exit_code in (0, 1), f"{label}: validate exit {validated.exit_code}\n{validated.output}"
    verdict = "valid" if validated.exit_code == 0 else "rejected"
    planned = runner.invoke(app, ["plan", str(directory), "--local"], catch_exceptions=True)
    crashed = planned.exception is not None and not isinstance(planned.exception, SystemExit)
    if crashed or has_traceback(planned.output):
        counts.tracebacks += 1
        raise AssertionError(f"{label}: plan crashed: {planned.exception!r}\n{planned.output}")
    calls = len(guard.api_calls) - calls_before
    counts.api_calls += calls
    assert calls == 0, f"{label}: API calls {guard.api_calls[calls_before:]}"
    if verdict == "rejected":
        assert guard.targets_opened == opened_before, f"{label}: plan opened a target for invalid manifests"
        assert planned.exit_code == 1, f"{label}: plan exit {planned.exit_code}\n{planned.output}"
        counts.bump("rejected cleanly", 1)
    else:
        counts.bump("valid (plan reached the target)", 1)
    counts.converged += 1  # a clean verdict, no traceback, no call
    return verdict


# ------------------------------------------------------------------------------------------------- corpus

CASES = sorted(p for p in CORPUS.glob("*.yaml"))


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_corpus_case_is_handled_without_traceback_or_call(case: Path, tmp_path: Path, guard: Guard) -> None:
    shutil.copytree(CORPUS / "_base", tmp_path / "base")
    shutil.copy(case, tmp_path / "case.yaml")
    expects_errors = any(line.startswith("# expect: ") for line in case_text(case).splitlines())
    verdict = check_input(tmp_path, guard, case.name)
    assert verdict == ("rejected" if expects_errors else "valid"), case.name


# ---------------------------------------------------------------------------------------------- fuzzing

SEED_FILES = sorted((REPO / "manifests").rglob("*.yaml"))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80),
    st.sampled_from(
        ["", "${bucket}", "${nope}", "aws-sims", "ACTIVE", "0", "-1", "1e400", "~", "null", "x" * 300]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
SNIPPETS = st.sampled_from(
    [
        "\t",
        ":",
        ": :",
        "{",
        "]",
        "- ",
        "&a ",
        "*a",
        "!!python/object:os.system ",
        "!!binary ",
        "<<: *x\n",
        "---\n",
        "...\n",
        "%YAML 1.1\n",
        "\x00",
        "\ufeff",
        "'",
        '"',
        "#",
        "? ",
        "kind: Stack\n",
        "metadata: {name: x}\n",
        "\n  ",
    ]
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        doc = doc[key]
    return doc


def mutate_structure(data: st.DataObject, docs: list[Any]) -> list[Any]:
    """One structural mutation of one document."""
    index = data.draw(st.integers(0, len(docs) - 1), label="document")
    op = data.draw(
        st.sampled_from(["replace", "delete", "rename", "wrap", "duplicate", "kind", "drop-doc"]), label="op"
    )
    doc = docs[index]
    if op == "duplicate":
        return [*docs, doc]
    if op == "drop-doc":
        return docs[:index] + docs[index + 1 :]
    if op == "kind" and isinstance(doc, dict):
        doc["kind"] = data.draw(
            st.sampled_from(["Stack", "Dataset", "Solution", "Campaign", "Filter", "Nope", 3, None]),
            label="kind",
        )
        return docs
    paths = [p for p in _paths(doc) if p]
    if not paths:
        docs[index] = data.draw(VALUES, label="document value")
        return docs
    path = data.draw(st.sampled_from(paths), label="path")
    parent = _parent(doc, path)
    key = path[-1]
    if op == "delete":
        del parent[key]
    elif op == "rename" and isinstance(parent, dict):
        parent[data.draw(st.text(min_size=1, max_size=20), label="new key")] = parent.pop(key)
    elif op == "wrap":
        parent[key] = [parent[key]]
    else:
        parent[key] = data.draw(VALUES, label="value")
    return docs


def mutate_text(data: st.DataObject, text: str) -> str:
    """Delete a slice and/or insert YAML syntax or random characters at random places."""
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        at = data.draw(st.integers(0, len(text)), label="at")
        if data.draw(st.booleans(), label="delete?"):
            end = data.draw(st.integers(at, min(len(text), at + 40)), label="end")
            text = text[:at] + text[end:]
        else:
            insert = data.draw(st.one_of(SNIPPETS, st.text(max_size=20)), label="insert")
            text = text[:at] + insert + text[at:]
    return text


@pytest.fixture(scope="module")
def seed_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-seed")
    shutil.copytree(REPO / "manifests", root / "manifests")
    shutil.copytree(REPO / "data" / "sample", root / "data" / "sample")
    return root


def fuzz_once(data: st.DataObject, seed_copy: Path, guard: Guard) -> None:
    chosen = data.draw(st.sampled_from(SEED_FILES), label="file")
    relative = chosen.relative_to(REPO / "manifests")
    text = chosen.read_text(encoding="utf-8")
    if data.draw(st.booleans(), label="structural?"):
        docs = [d for d in yaml.safe_load_all(text)]
        for _ in range(data.draw(st.integers(1, 3), label="mutations")):
            if not docs:
                break
            docs = mutate_structure(data, docs)
        text = yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False)
    else:
        text = mutate_text(data, text)
    with tempfile.TemporaryDirectory(dir=seed_copy) as tmp:
        work = Path(tmp)
        shutil.copytree(seed_copy / "manifests", work / "manifests")
        (work / "data").symlink_to(seed_copy / "data")
        (work / "manifests" / relative).write_text(text, encoding="utf-8", errors="surrogatepass")
        check_input(work / "manifests", guard, f"fuzzed {relative}")


@settings(
    max_examples=FAST_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_manifests_never_crash_or_call(data: st.DataObject, seed_copy: Path, guard: Guard) -> None:
    fuzz_once(data, seed_copy, guard)


@pytest.mark.soak
@settings(
    max_examples=SOAK_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_manifests_never_crash_or_call_soak(
    data: st.DataObject, seed_copy: Path, guard: Guard
) -> None:
    fuzz_once(data, seed_copy, guard)


# --------------------------------------------------------------------- no documents, and the real planner


@pytest.mark.parametrize("layout", ["empty directory", "comments only", "missing path"])
def test_a_path_without_documents_fails_validate_and_plan(layout: str, tmp_path: Path, guard: Guard) -> None:
    """A wrong path in CI must not plan "No changes" with exit 0 (issue 14)."""
    target = tmp_path / "manifests"
    if layout != "missing path":
        target.mkdir()
    if layout == "comments only":
        (target / "todo.yaml").write_text("# resources go here\n---\n", encoding="utf-8")
    verdict = check_input(target, guard, layout)
    assert verdict == "rejected"
    assert guard.targets_opened == 0


@pytest.fixture(scope="module")
def applied_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The seed stack applied to an emulated account (Personalize emulator + moto) in virtual time."""
    from .support import seed_world

    with seed_world(tmp_path_factory.mktemp("planner-fuzz")) as world:
        world.apply()
        yield world


READ_ONLY_PREFIXES = ("Describe", "List", "Get", "Head")
PLANNER_EXAMPLES = 40


def fuzz_planner_once(data: st.DataObject, world: Any) -> str:
    """One mutated seed file through validate, then (when valid) the live reader, the planner and every
    renderer against the applied emulated account: no exception other than a ReconcilerError, and only
    read calls."""
    import botocore.client

    from reconciler.errors import ReconcilerError
    from reconciler.live.reader import read_live
    from reconciler.manifest import validate
    from reconciler.plan.planner import PlanOptions, plan
    from reconciler.render import render_json, render_markdown, render_text

    chosen = data.draw(st.sampled_from(SEED_FILES), label="file")
    relative = chosen.relative_to(REPO / "manifests")
    text = chosen.read_text(encoding="utf-8")
    if data.draw(st.booleans(), label="structural?"):
        docs = [d for d in yaml.safe_load_all(text)]
        for _ in range(data.draw(st.integers(1, 3), label="mutations")):
            if not docs:
                break
            docs = mutate_structure(data, docs)
        text = yaml.safe_dump_all(docs, allow_unicode=True, sort_keys=False)
    else:
        text = mutate_text(data, text)
    counts = tally("planner fuzzing (emulated account)", ok_label="handled cleanly")
    counts.cases += 1
    root = world.manifests.parent
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        work = Path(tmp) / "manifests"
        shutil.copytree(world.manifests, work)
        (Path(tmp) / "data").symlink_to(root / "data")
        (work / relative).write_text(text, encoding="utf-8", errors="surrogatepass")
        report = validate(work)
    if report.errors or report.state is None:
        counts.bump("rejected by validate")
        counts.converged += 1
        return "rejected"
    calls: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(client: Any, operation: str, params: dict[str, Any]) -> Any:
        calls.append(operation)
        return original(client, operation, params)

    with mock.patch.object(botocore.client.BaseClient, "_make_api_call", recording):
        try:
            live = read_live(world.target, report.state, now=world.clock.now())
            result = plan(report.state, live, PlanOptions(target="fuzz"))
        except ReconcilerError:
            counts.bump("clean plan error")
            counts.converged += 1
            return "plan error"
    for render in (render_text, render_markdown, render_json):
        assert isinstance(render(result), str)
    writes = sorted({c for c in calls if not c.startswith(READ_ONLY_PREFIXES)})
    counts.api_calls += len(writes)
    assert writes == [], f"plan made mutating calls: {writes}"
    counts.bump("planned")
    counts.converged += 1
    return "planned"


@settings(
    max_examples=PLANNER_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_fuzzed_manifests_through_the_real_planner(data: st.DataObject, applied_world: Any) -> None:
    """Not a stubbed target: the planner itself runs against an emulated account holding the seed stack."""
    fuzz_planner_once(data, applied_world)
