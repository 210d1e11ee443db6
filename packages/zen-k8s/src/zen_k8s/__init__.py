"""zen-k8s: the ``kubernetes`` orchestrator, which runs each pipeline step as a Kubernetes Job."""

__version__ = "0.1.0"
