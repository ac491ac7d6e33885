"""Apply: execute a plan against the account, level-based, idempotent and resumable.

Public interface:

* `run.run_apply(desired, target, read_live=..., plan_options=..., reporter=..., options=..., saved_plan=...,
  confirm=..., break_lock=...) -> ApplyResult`: the whole apply (account guard, stack lock, fresh or saved
  plan with the staleness check, confirmation, execution rounds, outputs). `ApplyResult.exit_code` is 0 / 1 /
  3; refusals raise ReconcilerErrors (TargetError, LockHeldError exit 4, StalePlanError, PlanError).
* `executor.apply_plan(plan, desired, live, personalize=..., clock=..., s3=..., reporter=..., options=...)
  -> ApplyReport`: run one plan as a dependency graph (`executor.Executor` for the step graph itself).
* `executor.ApplyOptions(timeout, no_wait, slots, seed)`; `report.ApplyReport` (`summary_line()`,
  `details()`, `counts`, `exit_code`, `held_back`).
* `waiter.wait_for(read_fn, ready, failed, clock, timeout, typical_duration)`; `lock.StackLock`;
  `outputs.collect_outputs / write_outputs_file / publish_ssm`; `progress.make_reporter`, `PlainReporter`,
  `RichReporter`, `RecordingReporter`; `gate.evaluate_gate`.
"""
