"""zen-airflow: the ``airflow`` orchestrator, which turns a pipeline into an Airflow DAG."""

__version__ = "0.1.0"
