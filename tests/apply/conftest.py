"""Fixtures of the apply tests (helpers in apply_support.py)."""

from apply_support import mini, world

__all__ = ["mini", "world"]
