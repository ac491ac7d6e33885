"""PURE planning: no boto3, no clock, no I/O (enforced by tests/test_architecture.py).

Public interface:

* `reconciler.plan.planner.plan(desired, live, PlanOptions(...)) -> Plan` (decision table in its docstring;
  the generic core is planner/core/compare/replace/orphans/order, the data flows are data and promote, and
  kind rules are the handlers' plan-rule members);
* `reconciler.plan.types`: `Action`, `Reason`, `Harm` (why a change is destructive), `Change`, `FieldChange`,
  `Plan`, `ReplaceOrder`;
* `reconciler.plan.context.build_context(desired, live) -> RefContext` (ARN <-> logical names for requests);
* `reconciler.plan.planfile.save(plan, path)` / `load(path) -> Plan` (saved plans; `plan_digest(plan)` is the
  sha256 of the canonical saved-plan payload, the identity of a reviewed plan; `plan_to_dict` is also the
  JSON rendering).
"""
