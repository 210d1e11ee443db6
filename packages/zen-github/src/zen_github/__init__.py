"""zen-github: the ``github`` orchestrator, running pipelines as GitHub Actions workflows."""

__version__ = "0.1.0"
