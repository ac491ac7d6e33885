"""How long things take (virtual seconds) and the service quotas the emulator enforces."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

#: Virtual seconds spent in the IN_PROGRESS phase of a create, per kind (solution versions by training mode).
DEFAULT_CREATE_SECONDS: dict[str, float] = {
    "dataset_group": 60,
    "dataset": 60,
    "dataset_import_job": 600,  # for a small file; up to twice that for a million rows or more
    "dataset_export_job": 600,
    "solution": 60,
    "solution_version.FULL": 45 * 60,
    "solution_version.AUTOTRAIN": 45 * 60,
    "solution_version.UPDATE": 15 * 60,
    "campaign": 25 * 60,
    "filter": 120,
    "event_tracker": 60,
    "recommender": 60 * 60,
    "batch_inference_job": 30 * 60,
    "batch_segment_job": 30 * 60,
    "metric_attribution": 120,
    "data_deletion_job": 60 * 60,
}

#: Virtual seconds an update (the ``latest*Update`` sub-status) takes to become ACTIVE.
DEFAULT_UPDATE_SECONDS: dict[str, float] = {
    "campaign": 15 * 60,
    "solution": 5 * 60,
    "dataset": 5 * 60,
    "recommender": 30 * 60,
    "metric_attribution": 120,
}


@dataclass(frozen=True)
class DurationProfile:
    """Virtual durations. ``pending`` is the CREATE PENDING phase before IN_PROGRESS starts."""

    create: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_CREATE_SECONDS))
    update: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_UPDATE_SECONDS))
    pending: float = 10.0
    delete: float = 60.0
    stop: float = 120.0
    start: float = 300.0

    @classmethod
    def instant(cls) -> DurationProfile:
        """Every transition completes at the instant it is requested (unit tests)."""
        return cls(
            create={k: 0.0 for k in DEFAULT_CREATE_SECONDS},
            update={k: 0.0 for k in DEFAULT_UPDATE_SECONDS},
            pending=0.0,
            delete=0.0,
            stop=0.0,
            start=0.0,
        )

    def with_overrides(self, **create: float) -> DurationProfile:
        """A copy with some create durations replaced (``DEFAULT_CREATE_SECONDS`` keys, ``__`` for dots)."""
        merged = dict(self.create)
        merged.update({k.replace("__", "."): float(v) for k, v in create.items()})
        return replace(self, create=merged)

    def scaled(self, factor: float) -> DurationProfile:
        """Every duration multiplied by ``factor`` (``1 / time_scale`` for a clock running at host speed)."""
        return DurationProfile(
            create={k: v * factor for k, v in self.create.items()},
            update={k: v * factor for k, v in self.update.items()},
            pending=self.pending * factor,
            delete=self.delete * factor,
            stop=self.stop * factor,
            start=self.start * factor,
        )

    def create_seconds(self, kind: str, variant: str | None = None) -> float:
        if variant is not None and f"{kind}.{variant}" in self.create:
            return self.create[f"{kind}.{variant}"]
        return self.create.get(kind, 60.0)

    def update_seconds(self, kind: str) -> float:
        return self.update.get(kind, 60.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "create": dict(self.create),
            "update": dict(self.update),
            "pending": self.pending,
            "delete": self.delete,
            "stop": self.stop,
            "start": self.start,
        }


#: Documented quotas (Personalize developer guide, "Quotas"). Keys are what ``control.set_quota`` takes.
DEFAULT_QUOTAS: dict[str, int] = {
    # per account and region
    "dataset_groups_per_region": 5,
    "schemas_per_region": 500,
    "pending_dataset_import_jobs_per_region": 5,
    "pending_batch_inference_jobs_per_region": 5,
    "pending_batch_segment_jobs_per_region": 5,
    "pending_solution_versions_per_region": 20,
    # per dataset group
    "solutions_per_dataset_group": 10,
    "campaigns_per_dataset_group": 5,
    "recommenders_per_dataset_group": 5,
    "filters_per_dataset_group": 30,
    "metric_attributions_per_dataset_group": 1,
    # per resource
    "tags_per_resource": 50,
    # training data minimums
    "min_interactions_for_training": 1000,
    "min_users_with_two_interactions": 25,
}
