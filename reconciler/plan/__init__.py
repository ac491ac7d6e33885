"""PURE planning: no boto3, no clock, no I/O (enforced by tests/test_architecture.py)."""
