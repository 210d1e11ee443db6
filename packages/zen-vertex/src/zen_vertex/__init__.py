"""zen-vertex: the ``vertex`` orchestrator (Vertex AI Pipelines) and the ``gcs`` artifact store."""

__version__ = "0.1.0"
