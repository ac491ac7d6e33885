"""PURE renderers of a Plan: terminal text, markdown for PR comments, JSON. Functions of the plan only."""

from reconciler.render.json import render_json
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text

__all__ = ["render_json", "render_markdown", "render_text"]
