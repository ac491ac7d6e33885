"""Per-kind knowledge behind the `ResourceHandler` Protocol (see base.py) and the explicit REGISTRY."""
