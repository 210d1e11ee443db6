"""The generated Dockerfile, golden-tested: review a change to tests/golden/ like code.

Regenerate with ``ZEN_UPDATE_GOLDEN=1 pytest packages/zen-docker/tests``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zen_docker import dockerfile as df

GOLDEN = Path(__file__).parent / "golden"


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ZEN_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.is_file(), f"no golden file {path}: run with ZEN_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text()
    assert text == expected, (
        f"{name} differs from its golden file; if the change is intended, regenerate with "
        f"ZEN_UPDATE_GOLDEN=1 and review the diff"
    )


CASES = {
    "minimal.Dockerfile": df.DockerfileInputs(parent_image="python:3.11-slim", zen_requirements=True),
    "everything.Dockerfile": df.DockerfileInputs(
        parent_image="registry.example.com/base/python@sha256:" + "0" * 64,
        apt_packages=("git", "libgomp1"),
        environment=(("PIP_INDEX_URL", "https://pypi.example.com/simple"), ("GREETING", 'say "hi" to $USER')),
        zen_requirements=True,
        user_requirements=True,
        wheels=True,
    ),
    "no-code.Dockerfile": df.DockerfileInputs(parent_image="zen:parent-0123", copy_source=False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_dockerfiles(name):
    assert_golden(name, df.generate(CASES[name]).text)


def test_generation_is_deterministic():
    inputs = CASES["everything.Dockerfile"]
    assert df.generate(inputs).text == df.generate(inputs).text


def test_layers_go_from_rarely_to_often_changed():
    text = df.generate(CASES["everything.Dockerfile"]).text
    order = [
        "FROM ",
        "RUN apt-get",
        "ENV PIP_INDEX_URL=",
        "RUN python -m pip install -r /tmp/zen/zen-requirements.txt",
        "RUN python -m pip install -r /tmp/zen/requirements.txt",
        "RUN python -m pip install --no-deps",
        "COPY code/ /app/",
        "CMD ",
    ]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_env_values_are_literal():
    assert df.quote_env('a "b" $HOME \\ c') == '"a \\"b\\" \\$HOME \\\\ c"'


def test_instruction_lines_skip_comments_and_follow_continuations():
    text = "# c\nFROM x\n\nENV A=1 \\\n    B=2\nRUN y\n"
    assert df.instruction_lines(text) == [2, 4, 6]


def test_purpose_names_what_each_install_line_is_for():
    generated = df.generate(CASES["everything.Dockerfile"])
    lines = generated.text.splitlines()
    by_text = {lines[n - 1]: what for n, what in generated.purpose.items()}
    assert by_text["RUN python -m pip install -r /tmp/zen/requirements.txt"] == (
        "your requirements (requirements setting)"
    )
    assert "apt_packages" in next(v for k, v in by_text.items() if k.startswith("RUN apt-get"))
