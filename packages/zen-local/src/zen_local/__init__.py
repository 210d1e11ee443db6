"""zen-local: the ``local`` orchestrator, zen's default."""

__version__ = "0.1.0"
