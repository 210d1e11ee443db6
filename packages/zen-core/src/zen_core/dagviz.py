"""Pictures of a pipeline's DAG: Mermaid or Graphviz text, and SVG/PNG via graphviz.

With step records from a run, nodes are coloured by their state.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

from .errors import ZenError
from .records import StepRecord
from .spec import ArtifactInput, ArtifactListInput, PipelineSpec

_COLORS = {
    "completed": "#b7e4c7",
    "cached": "#a9d6f5",
    "failed": "#f4a3a3",
    "skipped": "#fde2a7",
    "running": "#d8c8f0",
    "pending": "#eeeeee",
}


def _edges(spec: PipelineSpec) -> list[tuple[str, str, str]]:
    """(upstream, downstream, label) for data edges and ``after=`` orderings."""
    edges: list[tuple[str, str, str]] = []
    for s in spec.steps:
        for name, inp in s.inputs.items():
            refs = (
                [inp]
                if isinstance(inp, ArtifactInput)
                else (inp.items if isinstance(inp, ArtifactListInput) else [])
            )
            for ref in refs:
                edges.append((ref.step, s.id, f"{ref.output} → {name}"))
        edges.extend((a, s.id, "after") for a in s.after)
    return edges


def to_mermaid(spec: PipelineSpec, states: Mapping[str, StepRecord] | None = None) -> str:
    ids = {s.id: f"s{i}" for i, s in enumerate(spec.steps)}
    lines = ["flowchart TD"]
    for s in spec.steps:
        status = states[s.id].status if states and s.id in states else None
        label = f"{s.id}<br/><i>{status}</i>" if status else s.id
        lines.append(f'    {ids[s.id]}["{label}"]')
    for up, down, label in _edges(spec):
        arrow = "-.->" if label == "after" else "-->"
        lines.append(f'    {ids[up]} {arrow}|"{label}"| {ids[down]}')
    if states:
        for state, color in _COLORS.items():
            lines.append(f"    classDef {state} fill:{color}")
        for s in spec.steps:
            if s.id in states:
                lines.append(f"    class {ids[s.id]} {states[s.id].status}")
    return "\n".join(lines) + "\n"


def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(spec: PipelineSpec, states: Mapping[str, StepRecord] | None = None) -> str:
    lines = [
        f"digraph {_dot_quote(spec.name)} {{",
        "    rankdir=TB;",
        '    node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
    ]
    for s in spec.steps:
        attrs = [f"label={_dot_quote(s.id)}"]
        if states and s.id in states:
            rec = states[s.id]
            took = f" {rec.duration:.2f}s" if rec.duration is not None else ""
            text = f"{s.id}\n{rec.status}{took}"
            attrs = [
                f"label={_dot_quote(text)}",
                f"fillcolor={_dot_quote(_COLORS.get(rec.status, '#ffffff'))}",
            ]
        lines.append(f"    {_dot_quote(s.id)} [{', '.join(attrs)}];")
    for up, down, label in _edges(spec):
        style = ", style=dashed" if label == "after" else ""
        lines.append(f"    {_dot_quote(up)} -> {_dot_quote(down)} [label={_dot_quote(label)}{style}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_source: str, fmt: str) -> bytes:
    """Render Graphviz source to ``svg`` or ``png`` with the ``dot`` program."""
    dot = shutil.which("dot")
    if dot is None:
        raise ZenError(
            f"rendering {fmt} needs Graphviz's 'dot' program (e.g. apt-get install "
            "graphviz); --format mermaid or dot work without it"
        )
    proc = subprocess.run(
        [dot, f"-T{fmt}"], input=dot_source.encode(), capture_output=True, check=False, timeout=120
    )
    if proc.returncode != 0:
        raise ZenError(f"dot failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout
