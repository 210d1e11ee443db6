"""zen-kubeflow: the ``kubeflow`` orchestrator and the KFP v2 compiler zen-vertex reuses."""

__version__ = "0.1.0"
