"""From a compiled pipeline to a GitHub Actions workflow (pure: no network, no act).

One job per step, ``needs:`` for its upstream steps, each job running the universal
step entrypoint (``python -m zen_core.entrypoint``). The generated file is
deterministic (the same spec and config give the same bytes) and hardened:

* ``permissions: {}`` for the workflow; a job that checks out the code gets
  ``contents: read`` and nothing else; ``actions/checkout`` keeps no credentials.
* Actions are pinned to full commit SHAs (the version in a trailing comment).
* Step ids, parameter names and values never appear in a ``run:`` script: the
  script is the same text in every job and reads everything from ``env:``,
  always double-quoted. Dispatch inputs reach ``env:`` through expressions.
* Secrets come from repository secrets only, by name, and only into the step
  that runs zen.

Pipeline parameters become ``workflow_dispatch`` inputs of type string holding
JSON (``"abc"``, ``3``, ``[1, 2]``); an empty input (a scheduled run, or a field
cleared in the GitHub UI) falls back to the parameter's default. The run id is an
input too; without one (schedules, the GitHub UI) the run is named
``<pipeline>-gh<workflow run id>``, so re-running failed jobs resumes the same
zen run.

GitHub Actions cannot retry a job, so the job script retries the entrypoint
itself, with ``--attempt N`` and the step's delays, and only when the step failed
(exit code 1), never for a usage error.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from zen_core.errors import PipelineDefinitionError
from zen_core.spec import PipelineSpec, StepSpec

from .config import GitHubOrchestratorConfig, GitHubSettings

#: The actions a generated workflow uses: full commit SHAs, with the release each one is.
CHECKOUT_ACTION = ("actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", "v4.2.2")
SETUP_PYTHON_ACTION = ("actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065", "v5.6.0")

RUN_ID_INPUT = "zen_run_id"
#: GitHub accepts at most this many workflow_dispatch inputs (the run id is one of them).
MAX_INPUTS = 25
SETTINGS_KEY = "github"
VENV_PYTHON = "${{ runner.temp }}/zen-venv/bin/python"

_INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_JOB_ID_OK = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_MAX_JOB_ID = 100

#: The script of every job: the entrypoint, retried in the job on step failure.
STEP_SCRIPT = """\
read -r -a delays <<< "${ZEN_RETRY_DELAYS:-}"
attempt=1
while true; do
  status=0
  "$ZEN_PYTHON" -m zen_core.entrypoint --store "$ZEN_STORE" --spec "$ZEN_SPEC" \\
    --run-id "$ZEN_RUN_ID" --step "$ZEN_STEP" --params "$ZEN_PARAMS" --attempt "$attempt" || status=$?
  if [ "$status" -ne 1 ] || [ "$attempt" -gt "${#delays[@]}" ]; then
    exit "$status"
  fi
  delay="${delays[$((attempt - 1))]}"
  echo "zen: attempt $attempt failed; retrying in ${delay}s"
  sleep "$delay"
  attempt=$((attempt + 1))
done
"""

#: The install step of install='pip': a fresh venv, the requirements from the environment.
INSTALL_SCRIPT = """\
"$ZEN_BASE_PYTHON" -m venv "$RUNNER_TEMP/zen-venv"
printf '%s\\n' "$ZEN_REQUIREMENTS" > "$RUNNER_TEMP/zen-requirements.txt"
"$RUNNER_TEMP/zen-venv/bin/python" -m pip install --disable-pip-version-check \\
  -r "$RUNNER_TEMP/zen-requirements.txt"
"""


# -- names ------------------------------------------------------------------------------


def workflow_file_name(spec: PipelineSpec) -> str:
    """The workflow's file name under ``.github/workflows/``."""
    return f"zen-{spec.name}.yml"


def spec_key_parts(spec: PipelineSpec) -> tuple[str, str, str]:
    """Where the workflow's jobs read the spec in the artifact store (content-addressed)."""
    return ("specs", spec.name, f"{spec.digest()}.json")


def run_id_prefix(spec: PipelineSpec) -> str:
    """The prefix of run ids GitHub makes up (schedules, the UI), as zen's own run ids."""
    return re.sub(r"[^a-z0-9-]+", "-", spec.name.lower()).strip("-")[:40] or "run"


def _short_hash(text: str, n: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def job_ids(spec: PipelineSpec) -> dict[str, str]:
    """A valid, unique, deterministic GitHub job id for each step id.

    Job ids start with a letter or ``_`` and hold only letters, digits, ``-`` and ``_``;
    GitHub compares them case-insensitively. A step id that is already a valid job id
    keeps it; others are sanitised. When two steps would get the same id, the one
    whose step id sorts first keeps it and the others get a short hash of their step
    id appended, so adding a step never renames another's job.
    """
    base: dict[str, str] = {}
    for s in spec.steps:
        jid = re.sub(r"[^A-Za-z0-9_-]", "_", s.id)
        if not re.match(r"^[A-Za-z_]", jid):
            jid = f"step_{jid}"
        if len(jid) > _MAX_JOB_ID:
            jid = f"{jid[: _MAX_JOB_ID - 9]}_{_short_hash(s.id)}"
        base[s.id] = jid
    groups: dict[str, list[str]] = {}
    for sid, jid in base.items():
        groups.setdefault(jid.lower(), []).append(sid)
    out: dict[str, str] = {}
    for members in groups.values():
        members.sort(key=lambda sid: (sid != base[sid], sid))
        out[members[0]] = base[members[0]]
        for sid in members[1:]:
            out[sid] = f"{base[sid][: _MAX_JOB_ID - 9]}_{_short_hash(sid)}"
    taken: set[str] = set()
    for sid in (s.id for s in spec.steps):
        if out[sid].lower() in taken or not _JOB_ID_OK.match(out[sid]):  # pragma: no cover - hash clash
            raise PipelineDefinitionError(f"pipeline '{spec.name}': no unique job id for step '{sid}'")
        taken.add(out[sid].lower())
    return out


# -- values inside expressions -----------------------------------------------------------


def safe_json(value: Any) -> str:
    """JSON text that can sit inside a GitHub expression or YAML without being evaluated.

    Braces and ``$`` inside JSON strings are written as ``\\u`` escapes and adjacent
    closing braces are spaced, so the text never contains ``${{`` or ``}}``.
    """
    text = json.dumps(value, sort_keys=True)
    out: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            elif ch in "{}$":
                out.append(f"\\u{ord(ch):04x}")
                continue
        elif ch == '"':
            in_string = True
        elif ch == "}" and out and out[-1] == "}":
            out.append(" ")
        out.append(ch)
    return "".join(out)


def _expr_str(text: str) -> str:
    """A string literal of the GitHub expression language."""
    return "'" + text.replace("'", "''") + "'"


def run_id_expression(spec: PipelineSpec) -> str:
    fallback = f"format('{{0}}-gh{{1}}', {_expr_str(run_id_prefix(spec))}, github.run_id)"
    return f"${{{{ inputs.{RUN_ID_INPUT} || {fallback} }}}}"


def params_expression(spec: PipelineSpec) -> str:
    """The ``--params`` JSON object built from the dispatch inputs (defaults if empty).

    ``format`` gets the braces as arguments, so the expression has no ``{{``/``}}``
    of its own.
    """
    if not spec.parameters:
        return "{}"
    names = list(spec.parameters)
    fields = ",".join(f'"{name}":{{{i + 1}}}' for i, name in enumerate(names))
    args = ["'{'"]
    for name in names:
        p = spec.parameters[name]
        args.append(f"inputs.{name}" if p.required else f"inputs.{name} || {_expr_str(safe_json(p.default))}")
    args.append("'}'")
    fmt = "{0}" + fields + f"{{{len(names) + 1}}}"
    return "${{ format(" + _expr_str(fmt) + ", " + ", ".join(args) + ") }}"


def dispatch_inputs(spec: PipelineSpec, run_id: str, parameters: Mapping[str, Any]) -> dict[str, str]:
    """The ``workflow_dispatch`` inputs of one run: its id and JSON-encoded parameters."""
    inputs = {RUN_ID_INPUT: run_id}
    for name in spec.parameters:
        if name in parameters:
            inputs[name] = json.dumps(parameters[name], sort_keys=True)
    return inputs


# -- checks -----------------------------------------------------------------------------


def check_spec(spec: PipelineSpec, config: GitHubOrchestratorConfig) -> None:
    """Raise :class:`PipelineDefinitionError` for what GitHub Actions cannot express."""
    where = f"pipeline '{spec.name}'"
    if 1 + len(spec.parameters) > MAX_INPUTS:
        raise PipelineDefinitionError(
            f"{where} has {len(spec.parameters)} parameters; a GitHub workflow takes at most "
            f"{MAX_INPUTS} dispatch inputs, one of which is the run id: group parameters "
            "into a few structured ones (a dict or a pydantic model)"
        )
    seen: dict[str, str] = {RUN_ID_INPUT: RUN_ID_INPUT}
    for name, p in spec.parameters.items():
        if not _INPUT_NAME.match(name):
            raise PipelineDefinitionError(
                f"{where}: parameter '{name}' cannot be a GitHub input name (ASCII letters, digits, '_')"
            )
        other = seen.get(name.lower())
        if other is not None:
            raise PipelineDefinitionError(
                f"{where}: parameter '{name}' clashes with '{other}' (GitHub input names are "
                "case-insensitive, and 'zen_run_id' is zen's own)"
            )
        seen[name.lower()] = name
        if config.schedules and p.required:
            raise PipelineDefinitionError(
                f"{where}: parameter '{name}' has no default, but scheduled runs have no "
                "inputs; give it a default or remove the schedules"
            )


def step_settings(spec: PipelineSpec, step: StepSpec) -> GitHubSettings:
    merged = {**spec.settings.get(SETTINGS_KEY, {}), **step.settings.get(SETTINGS_KEY, {})}
    return GitHubSettings.model_validate(merged)


def retry_delays(step: StepSpec) -> list[float]:
    """Seconds to wait before each retry of ``step``."""
    return [step.retry.wait_before(attempt) for attempt in range(2, step.retry.max_retries + 2)]


def _format_delay(seconds: float) -> str:
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "0"


# -- the workflow ------------------------------------------------------------------------


def _checkout_step() -> dict[str, Any]:
    return {
        "name": "Check out the code",
        "uses": CHECKOUT_ACTION[0],
        "with": {"persist-credentials": False},
    }


def _install_steps(config: GitHubOrchestratorConfig) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    base_python = config.python
    if config.python_version is not None:
        steps.append(
            {
                "name": "Set up Python",
                "uses": SETUP_PYTHON_ACTION[0],
                "with": {"python-version": config.python_version},
            }
        )
        base_python = "python"
    steps.append(
        {
            "name": "Install zen and the step code",
            "env": {
                "ZEN_BASE_PYTHON": base_python,
                "ZEN_REQUIREMENTS": "\n".join(config.requirements) + "\n",
            },
            "run": INSTALL_SCRIPT,
        }
    )
    return steps


def _job(
    spec: PipelineSpec,
    step: StepSpec,
    ids: Mapping[str, str],
    config: GitHubOrchestratorConfig,
    *,
    store_url: str,
    spec_uri: str,
    image: str | None,
) -> dict[str, Any]:
    settings = step_settings(spec, step)
    runs_on = settings.runs_on if settings.runs_on is not None else config.runs_on
    timeout = settings.timeout_minutes or config.timeout_minutes
    job: dict[str, Any] = {"name": step.id}
    if step.upstream:
        job["needs"] = sorted(ids[u] for u in step.upstream)
    job["runs-on"] = runs_on
    if timeout is not None:
        job["timeout-minutes"] = timeout
    job["permissions"] = {"contents": "read"} if config.wants_checkout else {}
    if config.install == "container":
        if image is None:
            raise PipelineDefinitionError(f"pipeline '{spec.name}': no container image for step '{step.id}'")
        job["container"] = {"image": image}

    steps: list[dict[str, Any]] = []
    if config.wants_checkout:
        steps.append(_checkout_step())
    steps.extend(dict(s) for s in config.setup_steps)
    if config.install == "pip":
        steps.extend(_install_steps(config))
        python = VENV_PYTHON
    else:
        python = config.python

    env: dict[str, str] = {
        "ZEN_PYTHON": python,
        "ZEN_STORE": store_url,
        "ZEN_SPEC": spec_uri,
        "ZEN_RUN_ID": run_id_expression(spec),
        "ZEN_STEP": step.id,
        "ZEN_PARAMS": params_expression(spec),
    }
    delays = retry_delays(step)
    if delays:
        env["ZEN_RETRY_DELAYS"] = " ".join(_format_delay(d) for d in delays)
    for name, value in sorted({**config.environment, **settings.environment}.items()):
        env[name] = value
    for name, secret in sorted({**config.secrets, **settings.secrets}.items()):
        env[name] = f"${{{{ secrets.{secret} }}}}"
    steps.append({"name": "Run the step", "env": env, "run": STEP_SCRIPT})
    job["steps"] = steps
    return job


def build_workflow(
    spec: PipelineSpec,
    config: GitHubOrchestratorConfig,
    *,
    store_url: str,
    images: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The workflow as a plain dict, in the key order it is written."""
    check_spec(spec, config)
    spec_uri = f"{store_url.rstrip('/')}/{'/'.join(spec_key_parts(spec))}"
    inputs: dict[str, Any] = {
        RUN_ID_INPUT: {
            "description": "zen run id (leave empty to start a new run)",
            "required": False,
            "type": "string",
        }
    }
    for name, p in spec.parameters.items():
        entry: dict[str, Any] = {
            "description": f"pipeline parameter {name} ({p.type}), as JSON",
            "required": p.required,
            "type": "string",
        }
        if not p.required:
            entry["default"] = safe_json(p.default)
        inputs[name] = entry
    on: dict[str, Any] = {"workflow_dispatch": {"inputs": inputs}}
    if config.schedules:
        on["schedule"] = [{"cron": cron} for cron in config.schedules]
    ids = job_ids(spec)
    jobs = {
        ids[s.id]: _job(
            spec,
            s,
            ids,
            config,
            store_url=store_url,
            spec_uri=spec_uri,
            image=(images or {}).get(s.id),
        )
        for s in spec.steps
    }
    return {
        "name": f"zen {spec.name}",
        "run-name": f"zen {spec.name} ${{{{ inputs.{RUN_ID_INPUT} }}}}",
        "on": on,
        "permissions": {},
        # one workflow run per zen run at a time (a second dispatch of the same run waits)
        "concurrency": {
            "group": f"${{{{ github.workflow }}}}-${{{{ inputs.{RUN_ID_INPUT} || github.run_id }}}}",
            "cancel-in-progress": False,
        },
        "defaults": {"run": {"shell": "bash"}},
        "jobs": jobs,
    }


def render(workflow: Mapping[str, Any], *, header: str = "") -> str:
    """YAML text of a workflow: block style, literal scripts, ``on:`` unquoted, pins commented."""
    import yaml

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
            super().increase_indent(flow, False)  # indent lists under their key

        def ignore_aliases(self, data: Any) -> bool:
            return True  # no &anchors: every job spelled out in full

    def str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
        if "\n" in data:
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
        return dumper.represent_scalar("tag:yaml.org,2002:str", data)

    Dumper.add_representer(str, str_presenter)
    text = yaml.dump(dict(workflow), Dumper=Dumper, sort_keys=False, width=10_000, allow_unicode=True)
    # GitHub reads the key `on` as a string; PyYAML quotes it for YAML 1.1 readers.
    text = re.sub(r"^'on':", "on:", text, count=1, flags=re.MULTILINE)
    for ref, version in (CHECKOUT_ACTION, SETUP_PYTHON_ACTION):
        text = text.replace(f"uses: {ref}\n", f"uses: {ref} # {version}\n")
    return header + text


def generate_workflow(
    spec: PipelineSpec,
    config: GitHubOrchestratorConfig,
    *,
    store_url: str,
    images: Mapping[str, str] | None = None,
) -> str:
    """The workflow file of ``spec`` (deterministic text)."""
    header = (
        f"# Generated by zen from pipeline '{spec.name}'; zen rewrites this file when the\n"
        "# pipeline changes. Each job runs one step through `python -m zen_core.entrypoint`.\n"
    )
    return render(
        build_workflow(spec, config, store_url=store_url, images=images),
        header=header,
    )
