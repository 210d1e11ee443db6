""".dockerignore rules, as Docker applies them."""

from __future__ import annotations

from pathlib import Path

import pytest

from zen_docker.ignore import DEFAULT_PATTERNS, IgnoreRules
from zen_docker.packages import walk_files


@pytest.mark.parametrize(
    ("patterns", "path", "excluded"),
    [
        (["*.log"], "a.log", True),
        (["*.log"], "sub/a.log", False),  # '*' does not cross folders
        (["**/*.log"], "sub/deep/a.log", True),
        (["**/*.log"], "a.log", True),
        (["data"], "data/x/y.csv", True),  # a folder excludes what it holds
        (["/data"], "data/y.csv", True),  # a leading slash is the root
        (["data/"], "data/y.csv", True),
        (["data"], "src/data", False),
        (["d?ta"], "data", True),
        (["[a-c]*.py"], "b.py", True),
        (["[!a-c]*.py"], "b.py", False),
        (["*.py", "!keep.py"], "keep.py", False),
        (["*.py", "!keep.py", "keep.py"], "keep.py", True),  # the last match wins
        (["data", "!data/keep.csv"], "data/keep.csv", False),
        (["data", "!data/keep.csv"], "data/other.csv", True),
        (["# comment", "", "  spaced.txt  "], "spaced.txt", True),
        (["src/**/test_*.py"], "src/a/b/test_x.py", True),
        (["src/**/test_*.py"], "src/test_x.py", True),
        (["./build"], "build/x", True),
    ],
)
def test_patterns(patterns, path, excluded):
    assert IgnoreRules(patterns).excluded(path) is excluded


def test_defaults_leave_out_vcs_venvs_and_caches_at_any_depth():
    rules = IgnoreRules(DEFAULT_PATTERNS)
    for path in (".git/config", ".venv/bin/python", ".nox/x", "pkg/__pycache__/m.cpython-311.pyc", "a/b.pyc"):
        assert rules.excluded(path), path
    for path in ("pkg/module.py", "README.md", "data/train.csv", "gitignore"):
        assert not rules.excluded(path), path


def test_prunable_folders_unless_an_exception_could_reach_inside():
    assert IgnoreRules(["data"]).prunable("data")
    assert not IgnoreRules(["data", "!data/keep.csv"]).prunable("data")
    assert not IgnoreRules(["data", "!**/*.csv"]).prunable("data")
    assert not IgnoreRules(["other"]).prunable("data")


def test_walk_files_is_sorted_and_applies_rules(tmp_path: Path):
    for rel in ("b.py", "a/z.py", "a/__pycache__/z.pyc", ".git/HEAD", "data/big.bin", "data/keep.csv"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    rules = IgnoreRules([*DEFAULT_PATTERNS, "data", "!data/keep.csv"])
    assert [rel for rel, _ in walk_files(tmp_path, rules)] == ["a/z.py", "b.py", "data/keep.csv"]
