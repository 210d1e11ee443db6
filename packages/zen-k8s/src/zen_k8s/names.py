"""Kubernetes resource names, labels and annotations derived from zen's names.

Run ids, step ids and pipeline names may hold ``_`` and ``.`` and be up to 128
characters; Kubernetes wants DNS-1123 labels (``[a-z0-9]([-a-z0-9]*[a-z0-9])?``,
at most 63 characters) for Job names and at most 63 characters for label values.
Every name made here is readable (it keeps the start of the zen name) and unique
(a short hash of the *unsanitised* parts is appended whenever a part had to be
changed or cut), so two steps whose ids differ only in ``_`` versus ``-`` never
share a Job.
"""

from __future__ import annotations

import hashlib
import re

#: Job names must also be valid label values (the ``job-name`` label of its pods): 63.
MAX_NAME = 63
#: CronJob names: the controller appends an 11-character suffix to name its Jobs.
MAX_CRONJOB_NAME = 52
MAX_LABEL_VALUE = 63
HASH_LEN = 8

LABEL_PREFIX = "zen.dev"
MANAGED_BY = "app.kubernetes.io/managed-by"
L_RUN = f"{LABEL_PREFIX}/run"
L_STEP = f"{LABEL_PREFIX}/step"
L_ATTEMPT = f"{LABEL_PREFIX}/attempt"
L_PIPELINE = f"{LABEL_PREFIX}/pipeline"
L_COMPONENT = f"{LABEL_PREFIX}/component"
L_SCHEDULE = f"{LABEL_PREFIX}/schedule"
A_RUN_ID = f"{LABEL_PREFIX}/run-id"
A_STEP_ID = f"{LABEL_PREFIX}/step-id"
A_PIPELINE = f"{LABEL_PREFIX}/pipeline"
A_SCHEDULE = f"{LABEL_PREFIX}/schedule"

_INVALID = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_VALUE_INVALID = re.compile(r"[^A-Za-z0-9_.-]+")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


def short_hash(*parts: str, length: int = HASH_LEN) -> str:
    """A stable hex digest of ``parts`` (joined unambiguously)."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:length]


def _sanitize(text: str) -> str:
    return _DASHES.sub("-", _INVALID.sub("-", text.lower())).strip("-")


def is_dns1123_label(value: str, max_len: int = MAX_NAME) -> bool:
    return len(value) <= max_len and bool(_DNS1123_LABEL.match(value))


def is_dns1123_subdomain(value: str) -> bool:
    return len(value) <= 253 and bool(_DNS1123_SUBDOMAIN.match(value))


def dns1123_name(*parts: str, max_len: int = MAX_NAME, always_hash: bool = False) -> str:
    """A DNS-1123 label made of ``parts`` joined by ``-``.

    The result is the parts sanitised (lowercase, runs of other characters become
    ``-``) when that is already a valid, unchanged, short enough name and
    ``always_hash`` is false; otherwise the readable prefix is cut to leave room
    for ``-<hash of the original parts>``, which keeps distinct inputs distinct.
    """
    clean = [p for p in (_sanitize(part) for part in parts) if p]
    base = "-".join(clean) or "zen"
    if not base[0].isalpha():
        base = f"zen-{base}"
    unchanged = base == "-".join(parts)
    if unchanged and not always_hash and len(base) <= max_len:
        return base
    digest = short_hash(*parts)
    head = base[: max_len - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}" if head else digest


def label_value(text: str) -> str:
    """``text`` as a valid label value: unchanged when it already is one, else cut and hashed."""
    if len(text) <= MAX_LABEL_VALUE and _LABEL_VALUE.match(text):
        return text
    clean = _LABEL_VALUE_INVALID.sub("-", text)
    digest = short_hash(text)
    head = clean[: MAX_LABEL_VALUE - len(digest) - 1]
    head = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", head)
    return f"{head}-{digest}" if head else digest


def is_label_key(key: str) -> bool:
    """A qualified name with an optional DNS subdomain prefix (``example.com/name``)."""
    prefix, sep, name = key.rpartition("/")
    if sep and not (prefix and is_dns1123_subdomain(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_QUALIFIED_NAME.match(name))


def is_label_value(value: str) -> bool:
    return len(value) <= MAX_LABEL_VALUE and bool(_LABEL_VALUE.match(value))


# -- the names zen gives its resources ---------------------------------------------


def step_job_name(run_id: str, step_id: str, attempt: int) -> str:
    """``<step>-<hash(run, step)>-a<attempt>``: unique per run, step and attempt."""
    suffix = f"-a{attempt}"
    digest = short_hash(run_id, step_id)
    head = _sanitize(step_id) or "step"
    if not head[0].isalpha():
        head = f"s-{head}"
    head = head[: MAX_NAME - len(suffix) - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}{suffix}"


def orchestrator_job_name(run_id: str) -> str:
    """``zen-<run id>``, cut and hashed to fit (unique per run)."""
    return dns1123_name("zen", run_id, always_hash=True)


def cronjob_name(schedule: str) -> str:
    """``zen-<schedule>``; schedule names are validated to fit unchanged."""
    return f"zen-{schedule}"


def validate_schedule_name(name: str) -> str:
    """Schedule names become CronJob names: a short DNS-1123 label."""
    from zen_core.errors import InvalidNameError

    limit = MAX_CRONJOB_NAME - len("zen-")
    if not is_dns1123_label(name, limit):
        raise InvalidNameError(
            f"schedule name {name!r} must be at most {limit} characters of lowercase letters, "
            "digits and '-', starting and ending with a letter or digit"
        )
    return name
