"""A small GitHub Actions runner for the workflow tests: runs a workflow file's jobs on this machine.

What it does like GitHub:
* `${{ }}` expressions and `if:` conditions (contexts github, env, vars, inputs, matrix, needs, steps, job;
  functions always/success/failure/cancelled/contains/startsWith/endsWith/format/join/fromJSON/toJSON;
  GitHub's loose `==` and its `||`/`&&` returning operand values);
* jobs in `needs` order, a job's default `if: success()`, matrix legs from `strategy.matrix` (axes or
  `include`), job outputs, `needs.<job>.result` (and `needs.*.result`);
* `run:` steps with `bash --noprofile --norc -eo pipefail`, workflow/job/step `env:`, `GITHUB_OUTPUT`,
  `GITHUB_STEP_SUMMARY`, `RUNNER_TEMP`, the usual `GITHUB_*` variables.

What it models besides (the properties the workflows' safety depends on):
* reusable workflows: a job with `uses: OWNER/REPO/.github/workflows/F.yml@REF` runs F's jobs (resolved by
  the test to a local file) with typed inputs and defaults, `on.workflow_call.outputs`, the `job.workflow_*`
  context of the callee, and job records named `<caller job>/<callee job>`; a callee job asking for a
  permission its caller did not grant makes the run invalid (GitHub refuses it before any job starts);
* job permissions: the token of each job (`github.token`) is registered with the job's permissions, which the
  `gh` fake enforces; `id-token: write` is what gives a job its OIDC request variables, and the OIDC claims
  (`sub` with the environment, pull_request or ref) go to the AWS fake, which checks them against the role's
  trust policy;
* environments: a job with `environment:` waits for an approval event: the test's `approve` callback sees what
  a reviewer can see then (the summaries of the jobs finished so far) and approves or rejects;
* concurrency: groups of callers and callees are evaluated and recorded; a callee using its caller's group
  is a deadlock (GitHub cancels such runs) and raises;
* artifacts: kept per run by the fakes (upload/download by name).

What it replaces: `uses:` steps by fakes given by the test (checkout, setup-python, AWS credentials, sticky
comment), and programs on PATH (`gh`, `pip`) by fakes in a directory the test puts first on PATH.
An unsupported expression raises, so the test fails instead of guessing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

from tests.github.workflow_support import load_workflow

# --- expressions ---------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<num>-?\d+(?:\.\d+)?)
      | '(?P<str>(?:[^']|'')*)'
      | (?P<op>==|!=|<=|>=|&&|\|\||[<>!().,\[\]*])
      | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)


class ExpressionError(Exception):
    pass


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot parse expression at {text[pos:]!r} in {text!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "str":
            value = value.replace("''", "'")
        tokens.append((kind, value))
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


def truthy(value: Any) -> bool:
    return value not in (None, False, 0, "", -0.0) and not (isinstance(value, float) and value != value)


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value) if value.strip() else 0.0
        except ValueError:
            return float("nan")
    return float("nan")


def _loose_equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b) or a is None or b is None:
        return bool(a == b)
    return _number(a) == _number(b)


class _Parser:
    def __init__(self, text: str, context: dict[str, Any], functions: dict[str, Callable[..., Any]]) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.context = context
        self.functions = functions

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            raise ExpressionError(f"expected {value or 'a token'} in {self.text!r}")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_expr()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()} in {self.text!r}")
        return value

    def or_expr(self) -> Any:
        value = self.and_expr()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_expr()
            value = value if truthy(value) else right
        return value

    def and_expr(self) -> Any:
        value = self.compare()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.compare()
            value = right if truthy(value) else value
        return value

    def compare(self) -> Any:
        left = self.unary()
        token = self.peek()
        if token and token[0] == "op" and token[1] in ("==", "!=", "<", ">", "<=", ">="):
            self.take()
            right = self.unary()
            op = token[1]
            if op == "==":
                return _loose_equal(left, right)
            if op == "!=":
                return not _loose_equal(left, right)
            a, b = _number(left), _number(right)
            return {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return left

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix(self.primary())

    def primary(self) -> Any:
        kind, value = self.take()
        if kind == "num":
            return float(value) if "." in value else int(value)
        if kind == "str":
            return value
        if kind == "op" and value == "(":
            inner = self.or_expr()
            self.take(")")
            return inner
        if kind == "name":
            if value in ("true", "false"):
                return value == "true"
            if value == "null":
                return None
            if self.peek() == ("op", "("):
                self.take("(")
                args: list[Any] = []
                if self.peek() != ("op", ")"):
                    args.append(self.or_expr())
                    while self.peek() == ("op", ","):
                        self.take()
                        args.append(self.or_expr())
                self.take(")")
                function = self.functions.get(value.lower())
                if function is None:
                    raise ExpressionError(f"unsupported function {value}() in {self.text!r}")
                return function(*args)
            if value not in self.context:
                raise ExpressionError(f"unknown context {value!r} in {self.text!r}")
            return self.context[value]
        raise ExpressionError(f"unexpected {value!r} in {self.text!r}")

    def postfix(self, value: Any) -> Any:
        while True:
            token = self.peek()
            if token == ("op", "."):
                self.take()
                kind, name = self.take()
                if name == "*" and kind == "op":
                    value = list(value.values()) if isinstance(value, dict) else []
                    continue
                value = _member(value, name)
            elif token == ("op", "["):
                self.take()
                key = self.or_expr()
                self.take("]")
                value = _member(value, key)
            else:
                return value


def _member(value: Any, key: Any) -> Any:
    if isinstance(value, list) and not isinstance(key, int | float):
        return [_member(v, key) for v in value]  # object filter: needs.*.result
    if isinstance(value, dict):
        if isinstance(key, str):
            for k, v in value.items():
                if k.lower() == key.lower():
                    return v
        return None
    if isinstance(value, list) and isinstance(key, int | float):
        return value[int(key)] if 0 <= int(key) < len(value) else None
    return None


def _contains(haystack: Any, needle: Any) -> bool:
    if isinstance(haystack, list):
        return any(_loose_equal(item, needle) for item in haystack)
    return to_text(needle).lower() in to_text(haystack).lower()


def _format(template: str, *args: Any) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: to_text(args[int(m.group(1))]), template)


def evaluate(text: str, context: dict[str, Any], *, status: str = "success") -> Any:
    functions: dict[str, Callable[..., Any]] = {
        "always": lambda: True,
        "success": lambda: status == "success",
        "failure": lambda: status == "failure",
        "cancelled": lambda: False,
        "contains": _contains,
        "startswith": lambda a, b: to_text(a).lower().startswith(to_text(b).lower()),
        "endswith": lambda a, b: to_text(a).lower().endswith(to_text(b).lower()),
        "format": _format,
        "join": lambda items, sep=",": to_text(sep).join(to_text(i) for i in (items or [])),
        "fromjson": lambda s: json.loads(s),
        "tojson": lambda v: json.dumps(v, indent=2),
    }
    return _Parser(text, context, functions).parse()


_TEMPLATE = re.compile(r"\$\{\{((?:(?!\}\}).)*)\}\}", re.DOTALL)


def substitute(text: str, context: dict[str, Any]) -> Any:
    """A value with `${{ }}`: the expression's value when it is the whole string, else text."""
    match = _TEMPLATE.fullmatch(text.strip())
    if match:
        return evaluate(match.group(1), context)
    return _TEMPLATE.sub(lambda m: to_text(evaluate(m.group(1), context)), text)


def condition(text: str | bool | None, context: dict[str, Any], status: str) -> bool:
    if text is None:
        return status == "success"
    if isinstance(text, bool):
        return text
    expr = text.strip()
    match = _TEMPLATE.fullmatch(expr)
    if match:
        expr = match.group(1)
    uses_status = re.search(r"\b(always|success|failure|cancelled)\s*\(", expr)
    if not uses_status:
        expr = f"success() && ({expr})"
    return truthy(evaluate(expr, context, status=status))


# --- running ---------------------------------------------------------------------------------------------


@dataclass
class StepRecord:
    job: str
    leg: dict[str, Any]
    name: str
    outcome: str  # success | failure | skipped
    outputs: dict[str, str] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0


@dataclass
class JobRecord:
    job: str
    result: str
    outputs: dict[str, str] = field(default_factory=dict)
    summaries: list[str] = field(default_factory=list)
    """One job summary per leg."""


@dataclass
class Approval:
    """An environment job waiting for a reviewer; `visible` is what the run page shows at that moment."""

    environment: str
    job: str
    leg: dict[str, Any]
    visible: list[str]


@dataclass
class Run:
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    concurrency: list[tuple[str, str]] = field(default_factory=list)
    """(where, group) of every concurrency group met: ("workflow", g) or ("<job>", g)."""

    def step(self, job: str, name: str, **leg: Any) -> StepRecord:
        for record in self.steps:
            if (
                record.job == job
                and record.name == name
                and all(record.leg.get(k) == v for k, v in leg.items())
            ):
                return record
        raise KeyError(f"no step {job}/{name} {leg or ''}; ran: {[(s.job, s.name) for s in self.steps]}")


#: A fake for a `uses:` action: (inputs, step env) -> outputs. It may add to `exported_env` (later steps).
ActionFake = Callable[[dict[str, Any], dict[str, str], dict[str, str]], dict[str, str]]


def _parse_outputs(path: Path) -> dict[str, str]:
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        heredoc = re.match(r"^([^=<]+)<<(.+)$", line)
        if heredoc:
            name, delimiter = heredoc.group(1), heredoc.group(2)
            body: list[str] = []
            i += 1
            while i < len(lines) and lines[i] != delimiter:
                body.append(lines[i])
                i += 1
            outputs[name] = "\n".join(body)
        elif "=" in line:
            name, _, value = line.partition("=")
            outputs[name] = value
        i += 1
    return outputs


def _matrix_legs(strategy: Any, context: dict[str, Any]) -> list[dict[str, Any]]:
    if not strategy or "matrix" not in strategy:
        return [{}]
    matrix = strategy["matrix"]
    if isinstance(matrix, str):
        matrix = substitute(matrix, context)
    if not isinstance(matrix, dict):
        raise ExpressionError(f"matrix is not an object: {matrix!r}")
    axes = {k: v for k, v in matrix.items() if k not in ("include", "exclude")}
    legs = [dict(zip(axes, values, strict=True)) for values in product(*axes.values())] if axes else []
    for extra in matrix.get("include") or []:
        legs.append(dict(extra))
    return legs


def _order(jobs: dict[str, Any]) -> list[str]:
    done: list[str] = []
    pending = dict(jobs)
    while pending:
        ready = [j for j, spec in pending.items() if all(n in done for n in _needs(spec))]
        if not ready:
            raise ExpressionError(f"cyclic or unknown needs: {sorted(pending)}")
        for job in ready:
            done.append(job)
            del pending[job]
    return done


class WorkflowInvalid(Exception):
    """What GitHub reports before running any job (permission elevation, concurrency deadlock, bad input)."""


PERMISSION_LEVELS = {"none": 0, "read": 1, "write": 2}


def permissions_of(spec: Any) -> dict[str, str]:
    if spec in (None, {}):
        return {}
    if spec == "read-all" or spec == "write-all":
        raise WorkflowInvalid("read-all/write-all are not modelled (and not used)")
    return {str(k): str(v) for k, v in dict(spec).items()}


def check_no_elevation(callee: dict[str, str], caller: dict[str, str], where: str) -> None:
    for scope, level in callee.items():
        if PERMISSION_LEVELS[level] > PERMISSION_LEVELS[caller.get(scope, "none")]:
            raise WorkflowInvalid(
                f"{where} is requesting '{scope}: {level}', but is only allowed "
                f"'{scope}: {caller.get(scope, 'none')}'"
            )


def oidc_subject(github: dict[str, Any], environment: str | None) -> str:
    repo = github.get("repository", "")
    if environment:
        return f"repo:{repo}:environment:{environment}"
    if github.get("event_name") == "pull_request":
        return f"repo:{repo}:pull_request"
    return f"repo:{repo}:ref:{github.get('ref', '')}"


def _needs(spec: dict[str, Any]) -> list[str]:
    needs = spec.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


class ActionsRunner:
    def __init__(
        self,
        workflow: Path,
        workspace: Path,
        *,
        event_name: str,
        github: dict[str, Any],
        fakes: dict[str, ActionFake],
        path_prefix: list[Path],
        vars: dict[str, str] | None = None,
        inputs: dict[str, Any] | None = None,
        env_overrides: dict[str, str] | None = None,
        base_env: dict[str, str] | None = None,
        timeout: float = 300,
        temp_root: Path | None = None,
        only_jobs: set[str] | None = None,
        reusable: Callable[[str], Path] | None = None,
        approve: Callable[[Approval], bool] | None = None,
        tokens_file: Path | None = None,
    ) -> None:
        self.workflow = load_workflow(workflow)
        self.reusable = reusable
        self.approve = approve
        self.tokens_file = tokens_file
        self.token_count = 0
        self.workspace = workspace
        self.event_name = event_name
        self.github = {"event_name": event_name, "workspace": str(workspace), **github}
        self.fakes = fakes
        self.path_prefix = path_prefix
        self.vars = vars or {}
        self.inputs = inputs or {}
        self.env_overrides = env_overrides or {}
        self.base_env = base_env if base_env is not None else dict(os.environ)
        self.timeout = timeout
        self.temp_root = temp_root
        self.only_jobs = only_jobs
        """When set, other jobs are reported as skipped without running (to test one job of a workflow)."""

    def run(self) -> Run:
        run = Run()
        group = (self.workflow.get("concurrency") or {}).get("group")
        caller_groups: set[str] = set()
        if group:
            evaluated = to_text(substitute(str(group), self._context()))
            run.concurrency.append(("workflow", evaluated))
            caller_groups.add(evaluated)
        self._run_workflow(
            run,
            self.workflow,
            prefix="",
            inputs=self.inputs,
            allowed=None,
            workflow_env_raw={**(self.workflow.get("env") or {}), **self.env_overrides},
            job_ctx={
                "workflow_repository": self.github.get("repository", ""),
                "workflow_sha": self.github.get("sha", ""),
            },
            caller_groups=caller_groups,
        )
        return run

    def _run_workflow(
        self,
        run: Run,
        workflow: dict[str, Any],
        *,
        prefix: str,
        inputs: dict[str, Any],
        allowed: dict[str, str] | None,
        workflow_env_raw: dict[str, Any],
        job_ctx: dict[str, Any],
        caller_groups: set[str],
    ) -> dict[str, dict[str, Any]]:
        jobs = workflow["jobs"]
        needs_ctx: dict[str, Any] = {}
        default_permissions = workflow.get("permissions")
        for job_id, spec in jobs.items():  # GitHub validates the whole file before running any job
            granted = permissions_of(spec.get("permissions", default_permissions))
            if allowed is not None:
                check_no_elevation(granted, allowed, f"{prefix}{job_id}")
            group = spec.get("concurrency")
            group = group.get("group") if isinstance(group, dict) else group
            if group and prefix and any(str(group) == g for g in caller_groups):
                raise WorkflowInvalid(
                    f"{prefix}{job_id}: concurrency group {group!r} is its caller's: deadlock"
                )
        for job_id in _order(jobs):
            spec = jobs[job_id]
            name = f"{prefix}{job_id}"
            needed = {n: needs_ctx[n] for n in _needs(spec)}
            context = self._context(needs=needed, env={}, inputs=inputs, job=job_ctx)
            statuses = [needs_ctx[n]["result"] for n in _needs(spec)]
            status = "success" if all(s == "success" for s in statuses) else "failure"
            selected = self.only_jobs is None or any(
                o in (name, job_id) or o.startswith(f"{name}/") for o in self.only_jobs
            )
            if not selected or not condition(spec.get("if"), context, status):
                needs_ctx[job_id] = {"result": "skipped", "outputs": {}}
                run.jobs[name] = JobRecord(name, "skipped")
                continue
            granted = permissions_of(spec.get("permissions", default_permissions))
            if "uses" in spec:
                record = self._call(run, name, spec, context, granted, caller_groups)
            else:
                legs = _matrix_legs(spec.get("strategy"), context)
                record = JobRecord(name, "success")
                for leg in legs:
                    outputs, ok, summary = self._run_leg(
                        run, name, spec, leg, needed, workflow_env_raw, inputs, job_ctx, granted
                    )
                    record.outputs.update(outputs)
                    record.summaries.append(summary)
                    if not ok:
                        record.result = "failure"
            needs_ctx[job_id] = {"result": record.result, "outputs": record.outputs}
            run.jobs[name] = record
        return needs_ctx

    def _call(
        self,
        run: Run,
        name: str,
        spec: dict[str, Any],
        context: dict[str, Any],
        granted: dict[str, str],
        caller_groups: set[str],
    ) -> JobRecord:
        """A job that calls a reusable workflow: its jobs run as `<name>/<callee job>`."""
        uses = str(spec["uses"])
        if self.reusable is None:
            raise WorkflowInvalid(f"{name}: no resolver for the reusable workflow {uses}")
        callee = load_workflow(self.reusable(uses))
        declared = (callee["on"] or {}).get("workflow_call")
        if not isinstance(declared, dict):
            raise WorkflowInvalid(f"{uses} has no `on: workflow_call`")
        given = {k: substitute(to_text(v), context) for k, v in (spec.get("with") or {}).items()}
        inputs: dict[str, Any] = {}
        for key, decl in (declared.get("inputs") or {}).items():
            value = given.pop(key, decl.get("default"))
            kind = decl.get("type")
            if kind == "boolean" and isinstance(value, str) and value in ("true", "false"):
                value = value == "true"
            if kind == "boolean" and not isinstance(value, bool):
                raise WorkflowInvalid(f"{name}: input {key} must be a boolean, got {value!r}")
            if kind == "string" and value is not None and not isinstance(value, str):
                raise WorkflowInvalid(f"{name}: input {key} must be a string, got {value!r}")
            inputs[key] = value
        if given:
            raise WorkflowInvalid(f"{name}: {uses} has no input {sorted(given)}")
        repo_path, _, ref = uses.partition("@")
        job_ctx = {"workflow_repository": "/".join(repo_path.split("/")[:2]), "workflow_sha": ref}
        jobs = self._run_workflow(
            run,
            callee,
            prefix=f"{name}/",
            inputs=inputs,
            allowed=granted,
            workflow_env_raw=dict(callee.get("env") or {}),
            job_ctx=job_ctx,
            caller_groups=caller_groups,
        )
        results = [j["result"] for j in jobs.values()]
        record = JobRecord(name, "failure" if "failure" in results else "success")
        out_ctx = self._context(jobs=jobs, inputs=inputs)
        for key, decl in (declared.get("outputs") or {}).items():
            record.outputs[key] = to_text(substitute(str(decl.get("value", "")), out_ctx))
        return record

    def _context(self, **extra: Any) -> dict[str, Any]:
        return {
            "github": self.github,
            "vars": self.vars,
            "inputs": self.inputs,
            "secrets": {},
            "runner": {"os": "Linux", "temp": ""},
            "matrix": {},
            "steps": {},
            "needs": {},
            "job": {},
            **extra,
        }

    def _run_leg(
        self,
        run: Run,
        job_id: str,
        spec: dict[str, Any],
        leg: dict[str, Any],
        needed: dict[str, Any],
        workflow_env_raw: dict[str, Any],
        inputs: dict[str, Any],
        job_ctx: dict[str, Any],
        granted: dict[str, str],
    ) -> tuple[dict[str, str], bool, str]:
        temp = Path(tempfile.mkdtemp(prefix=f"runner-{job_id.replace('/', '-')}-", dir=self.temp_root))
        summary = temp / "step_summary.md"
        summary.touch()
        steps_ctx: dict[str, Any] = {}
        env: dict[str, str] = {}
        self.token_count += 1
        token = f"ghs_fake{self.token_count}"
        github = {**self.github, "token": token}
        base_context = self._context(needs=needed, matrix=leg, inputs=inputs, job=job_ctx, github=github)
        base_context["runner"] = {"os": "Linux", "temp": str(temp)}
        group = spec.get("concurrency")
        if isinstance(group, dict):
            group = group.get("group")
        if group:
            run.concurrency.append((job_id, to_text(substitute(str(group), base_context))))
        environment = spec.get("environment")
        if isinstance(environment, dict):
            environment = environment.get("name")
        environment_name = to_text(substitute(str(environment), base_context)) if environment else None
        if environment_name:
            if self.approve is None:
                raise WorkflowInvalid(
                    f"{job_id} runs in environment {environment_name}: nobody to approve it"
                )
            visible = [summ for record in run.jobs.values() for summ in record.summaries if summ.strip()]
            request = Approval(environment_name, job_id, dict(leg), visible)
            run.approvals.append(request)
            if not self.approve(request):
                run.steps.append(StepRecord(job_id, leg, "deployment rejected", "failure"))
                return {}, False, ""
        if self.tokens_file is not None:
            tokens = json.loads(self.tokens_file.read_text()) if self.tokens_file.exists() else {}
            tokens[token] = granted
            self.tokens_file.write_text(json.dumps(tokens))
        oidc: dict[str, str] = {}
        if granted.get("id-token") == "write":
            claims = {
                "sub": oidc_subject(self.github, environment_name),
                "aud": "sts.amazonaws.com",
                "job_workflow_ref": f"{job_ctx.get('workflow_repository')}@{job_ctx.get('workflow_sha')}",
            }
            oidc = {
                "ACTIONS_ID_TOKEN_REQUEST_URL": "https://fake-oidc.invalid/token",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": json.dumps(claims),
            }
        for key, value in workflow_env_raw.items():
            env[key] = to_text(substitute(to_text(value), {**base_context, "env": env}))
        for key, value in (spec.get("env") or {}).items():
            env[key] = to_text(substitute(to_text(value), {**base_context, "env": env}))
        exported: dict[str, str] = {}
        status = "success"
        for index, step in enumerate(spec.get("steps") or []):
            name = step.get("name") or step.get("id") or step.get("uses") or f"step {index + 1}"
            context = {**base_context, "env": {**env, **exported}, "steps": steps_ctx}
            if not condition(step.get("if"), context, status):
                run.steps.append(StepRecord(job_id, leg, name, "skipped"))
                if step.get("id"):
                    steps_ctx[step["id"]] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
                continue
            step_env = {**env, **exported, **oidc}
            for key, value in (step.get("env") or {}).items():
                step_env[key] = to_text(substitute(to_text(value), {**context, "env": step_env}))
            if "uses" in step:
                action = step["uses"].split("@", 1)[0]
                fake = self.fakes.get(action)
                seconds = 0.0
                if fake is None:
                    raise AssertionError(f"{job_id}: no fake for action {action}")
                inputs = {k: substitute(to_text(v), context) for k, v in (step.get("with") or {}).items()}
                try:
                    # what the action may do with the job's token (the fakes check it)
                    outputs = fake(
                        inputs, {**step_env, "FAKE_JOB_PERMISSIONS": json.dumps(granted)}, exported
                    )
                    outcome, out, err = "success", "", ""
                except AssertionError as exc:
                    outputs, outcome, out, err = {}, "failure", "", str(exc)
            else:
                started = time.monotonic()
                outputs, outcome, out, err = self._run_script(step, context, step_env, temp, summary)
                seconds = time.monotonic() - started
            run.steps.append(StepRecord(job_id, leg, name, outcome, outputs, out, err, seconds))
            if step.get("id"):
                steps_ctx[step["id"]] = {"outputs": outputs, "outcome": outcome, "conclusion": outcome}
            if outcome == "failure":
                status = "failure"
        final_context = {**base_context, "env": env, "steps": steps_ctx}
        job_outputs = {
            k: to_text(substitute(str(v), final_context)) for k, v in (spec.get("outputs") or {}).items()
        }
        return job_outputs, status == "success", summary.read_text(encoding="utf-8")

    def _run_script(
        self,
        step: dict[str, Any],
        context: dict[str, Any],
        step_env: dict[str, str],
        temp: Path,
        summary: Path,
    ) -> tuple[dict[str, str], str, str, str]:
        script = substitute(str(step["run"]), context)
        assert isinstance(script, str)
        output_file = temp / f"output-{os.urandom(4).hex()}"
        output_file.touch()
        script_file = temp / f"script-{os.urandom(4).hex()}.sh"
        script_file.write_text(script, encoding="utf-8")
        env = dict(self.base_env)
        env.update(step_env)
        env.update(
            {
                "GITHUB_OUTPUT": str(output_file),
                "GITHUB_STEP_SUMMARY": str(summary),
                "GITHUB_ENV": str(temp / "github_env"),
                "RUNNER_TEMP": str(temp),
                "GITHUB_WORKSPACE": str(self.workspace),
                "GITHUB_EVENT_NAME": self.event_name,
                "GITHUB_REPOSITORY": str(self.github.get("repository", "")),
                "GITHUB_SHA": str(self.github.get("sha", "")),
                "GITHUB_RUN_ID": str(self.github.get("run_id", "1")),
                "GITHUB_SERVER_URL": str(self.github.get("server_url", "https://github.com")),
                "GITHUB_ACTIONS": "true",
                "CI": "true",
                "PATH": os.pathsep.join([*map(str, self.path_prefix), self.base_env.get("PATH", "")]),
            }
        )
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        outcome = "success" if result.returncode == 0 else "failure"
        return _parse_outputs(output_file), outcome, result.stdout, result.stderr
