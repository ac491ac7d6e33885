"""JSON rendering: Terraform-like (`format_version`, `resource_changes[].change.actions` arrays so
["delete","create"] means replace, reasons, `summary` counts, `applyable`). Same content as a saved plan."""

from __future__ import annotations

import json

from reconciler.plan.planfile import plan_to_dict
from reconciler.plan.types import Plan


def render_json(plan: Plan) -> str:
    return json.dumps(plan_to_dict(plan), indent=2) + "\n"
