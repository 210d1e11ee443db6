"""A stand-in for the few Airflow classes the DAG file uses, to check it without Airflow.

Each class records what it was given, so a test can load a generated DAG file
(``runpy.run_path``) and look at the DAG and operators it built. The real
classes are checked by the integration tests, which parse the same files with
Airflow's ``DagBag``.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

_CURRENT: list[Any] = []


class DAG:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.dag_id = kwargs["dag_id"]
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> DAG:
        _CURRENT.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _CURRENT.pop()


class Param:
    NOTSET = object()

    def __init__(self, default: Any = NOTSET, description: str | None = None, **schema: Any) -> None:
        self.default = default
        self.description = description
        self.schema = schema


class BaseOperator:
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.task_id = kwargs["task_id"]
        self.upstream: list[str] = []
        _CURRENT[-1].tasks[self.task_id] = self

    def set_upstream(self, others: list[Any]) -> None:
        self.upstream.extend(o.task_id for o in others)


class PythonOperator(BaseOperator):
    pass


class DockerOperator(BaseOperator):
    pass


class KubernetesPodOperator(BaseOperator):
    pass


class CustomOperator(BaseOperator):
    """A third-party operator, importable as ``fake_airflow:CustomOperator``."""


class NotAnOperator:
    def __init__(self, **kwargs: Any) -> None:
        raise AssertionError("must not be instantiated")


class Mount:
    def __init__(self, target: str, source: str, type: str = "volume", read_only: bool = False) -> None:
        self.target, self.source, self.type, self.read_only = target, source, type, read_only


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Put the stand-in modules in ``sys.modules`` for one test."""
    modules = {
        "airflow": {},
        "airflow.sdk": {"DAG": DAG, "Param": Param, "BaseOperator": BaseOperator},
        "airflow.providers": {},
        "airflow.providers.standard": {},
        "airflow.providers.standard.operators": {},
        "airflow.providers.standard.operators.python": {"PythonOperator": PythonOperator},
        "airflow.providers.docker": {},
        "airflow.providers.docker.operators": {},
        "airflow.providers.docker.operators.docker": {"DockerOperator": DockerOperator},
        "airflow.providers.cncf": {},
        "airflow.providers.cncf.kubernetes": {},
        "airflow.providers.cncf.kubernetes.operators": {},
        "airflow.providers.cncf.kubernetes.operators.pod": {"KubernetesPodOperator": KubernetesPodOperator},
        "docker": {},
        "docker.types": {"Mount": Mount},
    }
    for name, attrs in modules.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        module.__path__ = []  # a package, so submodules resolve
        monkeypatch.setitem(sys.modules, name, module)
