""".dockerignore rules: which files of the build context root go into the image.

The semantics are Docker's: one pattern per line, ``#`` starts a comment, paths
are relative to the context root (a leading ``/`` is dropped), ``*`` and ``?``
never match ``/``, ``**`` matches any number of folders, ``[...]`` is a character
class, and a pattern that matches a folder excludes everything in it. A pattern
starting with ``!`` re-includes what earlier patterns excluded; the last matching
pattern wins. So ``__pycache__`` only matches at the top; write ``**/__pycache__``
for every level.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from pathlib import Path

#: Always left out, before the user's rules (which may re-include any of them with '!').
DEFAULT_PATTERNS: tuple[str, ...] = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".nox",
    ".tox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".ipynb_checkpoints",
    ".idea",
    ".vscode",
    "node_modules",
    "**/__pycache__",
    "**/*.py[co]",
    "**/.DS_Store",
)


def _translate(pattern: str) -> str:
    """A Docker path pattern as a regular expression matching a whole relative path."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                    out.append("(?:.*/)?")  # zero or more whole folders
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < n and pattern[j] in "!^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 1
            if j >= n:  # no closing bracket: a literal '['
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : j]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _clean(pattern: str) -> str:
    cleaned = posixpath.normpath(pattern.strip().lstrip("/")) if pattern.strip("/ ") else ""
    return "" if cleaned == "." else cleaned


class IgnoreRules:
    """An ordered list of (possibly negated) patterns; :meth:`excluded` applies them."""

    def __init__(self, patterns: Iterable[str] = ()) -> None:
        self.patterns: list[tuple[bool, str, re.Pattern[str]]] = []
        self._cache: dict[str, bool] = {}
        for raw in patterns:
            self.add(raw)

    def add(self, raw: str) -> None:
        line = raw.strip()
        if not line or line.startswith("#"):
            return
        negate = line.startswith("!")
        if negate:
            line = line[1:].strip()
        pattern = _clean(line)
        if not pattern:
            return
        self._cache.clear()
        self.patterns.append((negate, pattern, re.compile(_translate(pattern) + r"\Z")))

    @classmethod
    def from_file(cls, path: Path, rules: IgnoreRules | None = None) -> IgnoreRules:
        rules = rules or cls()
        for line in path.read_text(encoding="utf-8").splitlines():
            rules.add(line)
        return rules

    @property
    def has_exceptions(self) -> bool:
        return any(negate for negate, _, _ in self.patterns)

    def excluded(self, rel_path: str) -> bool:
        """Whether ``rel_path`` (``/``-separated, relative to the root) stays out."""
        cached = self._cache.get(rel_path)
        if cached is not None:
            return cached
        parts = rel_path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for negate, _, regex in self.patterns:
            if negate:
                # an exception re-includes the path itself (or a folder it lies in)
                if any(regex.match(p) for p in prefixes):
                    result = False
            elif any(regex.match(p) for p in prefixes):
                result = True
        self._cache[rel_path] = result
        return result

    def prunable(self, rel_dir: str) -> bool:
        """Whether a whole folder can be skipped without looking inside it."""
        if not self.excluded(rel_dir):
            return False
        # an exception pattern could re-include something below this folder
        return not any(
            negate and ((p + "/").startswith(rel_dir + "/") or any(c in p for c in "*?["))
            for negate, p, _ in self.patterns
        )
