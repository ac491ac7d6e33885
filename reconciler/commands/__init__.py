"""CLI commands, one module per command group; `reconciler.cli` registers them."""
