"""Apply: execute a plan against the account, level-based, idempotent and resumable.

Public interface: `reconciler.apply.executor.apply_plan` (see its docstring), `waiter.wait_for`,
`lock.StackLock`, `outputs.collect_outputs`, `progress.make_reporter`.
"""
