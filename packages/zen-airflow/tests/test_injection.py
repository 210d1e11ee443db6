"""Hostile names and values never become code in the generated DAG.

zen-core validates step and pipeline names, but the generator must be safe on
any spec (one read from a file, or built by another tool), so these specs are
built directly, bypassing that validation.
"""

from __future__ import annotations

import ast
import json
import re
import runpy

import fake_airflow
import specs

from zen_airflow import dagfile
from zen_airflow.config import AirflowOrchestratorConfig
from zen_airflow.generate import build_dag_files, dag_file_source, write_dag_files

HOSTILE = [
    'a"; import os; os.system("touch /tmp/pwned") #',
    "x'\n__import__('os').system('id')\n'",
    '"""\nraise SystemExit\n"""',
    "{{ dag_run.conf['secret'] }}",
    "{% for x in range(10**9) %}{% endfor %}",
    "../../etc/passwd",
    "$(rm -rf /) `id` ; | &&",
    "\\x00\0nul",
    "ünïcødé 🚀",
    "",
]
AIRFLOW_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,200}$")


def hostile_spec():
    steps = [specs.step(f"s{i}", name=value) for i, value in enumerate(HOSTILE)]
    steps += [specs.step(value, upstream=("s0",)) for value in HOSTILE]
    steps.append(specs.step("s0_", upstream=tuple(HOSTILE)))  # a hostile id as an upstream
    parameters = {value or "empty": {"type": value or "int", "default": value} for value in HOSTILE}
    settings = {
        "airflow": {
            "pool": HOSTILE[0],
            "queue": HOSTILE[3],
            "python": HOSTILE[2].replace("\n", " "),
            "operator_kwargs": {"doc": HOSTILE[1], "owner": HOSTILE[3]},
        }
    }
    return specs.spec('pipe"; __import__("os") #', steps, parameters=parameters, settings=settings)


def files():
    spec = hostile_spec()
    return spec, build_dag_files(spec, AirflowOrchestratorConfig(), store_url=HOSTILE[3], spec_uri=HOSTILE[0])


def test_the_dag_file_is_the_fixed_code_whatever_the_pipeline():
    _, generated = files()
    assert generated.dag_file == dag_file_source()
    # and that code holds no string constant but its own
    constants = {
        node.value
        for node in ast.walk(ast.parse(generated.dag_file))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    for value in HOSTILE:
        if len(value) > 3:
            assert value not in constants
            assert value not in generated.dag_file


def test_hostile_values_survive_as_data_in_the_definition():
    spec, generated = files()
    definition = json.loads(generated.definition_json)
    assert [t["step"] for t in definition["tasks"]] == [s.id for s in spec.steps]
    assert definition["tasks"][0]["task_args"]["pool"] == HOSTILE[0]
    assert definition["tasks"][0]["operator_kwargs"]["doc"] == HOSTILE[1]
    assert definition["store"] == HOSTILE[3]
    assert set(definition["params"]) == set(spec.parameters)
    assert json.loads(generated.spec_json) == json.loads(spec.to_json())


def test_ids_are_valid_for_airflow_and_distinct():
    spec, generated = files()
    task_ids = [t["task_id"] for t in generated.definition["tasks"]]
    assert all(AIRFLOW_KEY.match(t) for t in task_ids), task_ids
    assert len(set(task_ids)) == len(spec.steps)
    assert AIRFLOW_KEY.match(generated.dag_id)
    assert re.fullmatch(r"zen_[A-Za-z0-9_.\-]+", generated.stem)
    # upstream edges follow the renamed ids
    by_step = {t["step"]: t for t in generated.definition["tasks"]}
    assert by_step["s0_"]["upstream"] == [by_step[v]["task_id"] for v in sorted(HOSTILE)]


def test_the_dag_builds_with_hostile_values_as_plain_arguments(tmp_path, monkeypatch):
    fake_airflow.install(monkeypatch)
    _, generated = files()
    write_dag_files(generated, str(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(generated.files())  # nothing else written
    dag = runpy.run_path(str(tmp_path / f"{generated.stem}.py"))["dag"]
    task = next(iter(dag.tasks.values()))
    assert task.kwargs["pool"] == HOSTILE[0]
    assert task.kwargs["doc"] == HOSTILE[1]
    assert task.kwargs["owner"] == HOSTILE[3]  # a template in the user's own kwargs stays theirs
    params = dag.kwargs["params"]
    assert params["empty"].default == "" and params["{{ dag_run.conf['secret'] }}"].default == HOSTILE[3]
    macros = dag.kwargs["user_defined_macros"]
    hostile_task = next(t for t in generated.definition["tasks"] if t["step"] == HOSTILE[0])
    probe = type("Task", (), {"task_id": hostile_task["task_id"]})()
    assert macros["zen_arg"](probe, "step") == HOSTILE[0]  # returned as data, never rendered


def test_the_local_operator_passes_hostile_values_as_single_arguments(tmp_path, monkeypatch):
    """No shell: each value is one argv element of the entrypoint."""
    _, generated = files()
    write_dag_files(generated, str(tmp_path))
    definition = dagfile.load_definition(str(tmp_path / f"{generated.stem}.py"))
    task = next(t for t in definition["tasks"] if t["step"] == HOSTILE[1])
    seen = {}

    class Popen:
        def __init__(self, argv, **kwargs):
            seen["argv"] = argv
            self.stdout = iter(())

        def wait(self):
            return 0

    monkeypatch.setattr(dagfile.subprocess, "Popen", Popen)
    ctx = {
        "dag_run": type("R", (), {"run_id": HOSTILE[0], "conf": {}})(),
        "params": {HOSTILE[2]: HOSTILE[1]},
        "ti": type("TI", (), {"try_number": 1})(),
    }
    dagfile.run_step(definition, task, str(tmp_path), **ctx)
    argv = seen["argv"]
    assert argv[0] == HOSTILE[2].replace("\n", " ")  # the configured interpreter, as one argument
    assert argv[argv.index("--step") + 1] == HOSTILE[1]
    assert argv[argv.index("--store") + 1] == HOSTILE[3]
    assert json.loads(argv[argv.index("--params") + 1]) == {HOSTILE[2]: HOSTILE[1]}
    run_id = argv[argv.index("--run-id") + 1]
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*", run_id) and ".." not in run_id
