"""Resource names: DNS-1123, short enough, readable, unique."""

from __future__ import annotations

import re

import pytest

from zen_core.errors import InvalidNameError
from zen_k8s import names as N

DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@pytest.mark.parametrize(
    "step_id",
    ["add", "add_2", "Train_Model", "x" * 128, "a.b.c", "_private", "9lives", "----", "a__b", "a--b"],
)
def test_step_job_names_are_dns1123_and_fit(step_id):
    name = N.step_job_name("some-run-20260101-000000-abcdef", step_id, 12)
    assert DNS1123.match(name), name
    assert len(name) <= 63
    assert name.endswith("-a12")
    assert name[0].isalpha()


def test_step_ids_differing_only_in_punctuation_get_different_jobs():
    run = "r-20260101-000000-abcdef"
    names = {N.step_job_name(run, s, 1) for s in ("a_b", "a-b", "a.b", "A_B")}
    assert len(names) == 4


def test_long_step_ids_sharing_a_prefix_stay_unique():
    run = "r"
    a = N.step_job_name(run, "x" * 100 + "1", 1)
    b = N.step_job_name(run, "x" * 100 + "2", 1)
    assert a != b and len(a) <= 63


def test_the_same_step_of_two_runs_gets_two_jobs():
    assert N.step_job_name("run-1", "add", 1) != N.step_job_name("run-2", "add", 1)


def test_names_are_readable():
    assert N.step_job_name("r", "train_model", 1).startswith("train-model-")
    assert N.orchestrator_job_name("training-20260101-120000-abc123").startswith(
        "zen-training-20260101-120000-abc123-"
    )


@pytest.mark.parametrize("run_id", ["a" * 128, "Weird_Run.Name", "x"])
def test_orchestrator_job_names(run_id):
    name = N.orchestrator_job_name(run_id)
    assert DNS1123.match(name) and len(name) <= 63


@pytest.mark.parametrize(
    ("text", "unchanged"),
    [
        ("diamond", True),
        ("add_2", True),
        ("A.b-c", True),
        ("x" * 63, True),
        ("x" * 64, False),
        ("-a", False),
        ("a b", False),
    ],
)
def test_label_values(text, unchanged):
    value = N.label_value(text)
    assert N.is_label_value(value)
    assert (value == text) is unchanged
    assert N.label_value("y" * 100 + "1") != N.label_value("y" * 100 + "2")


def test_dns1123_name_keeps_valid_names_and_hashes_changed_ones():
    assert N.dns1123_name("zen", "abc") == "zen-abc"
    changed = N.dns1123_name("zen", "ABC")
    assert changed.startswith("zen-abc-") and changed != N.dns1123_name("zen", "abc")
    assert len(N.dns1123_name("x" * 200)) == 63


def test_label_keys():
    assert N.is_label_key("team")
    assert N.is_label_key("example.com/owner")
    assert not N.is_label_key("Example.com/owner")
    assert not N.is_label_key("/owner")
    assert not N.is_label_key("a" * 64)


def test_schedule_names():
    assert N.validate_schedule_name("nightly-train") == "nightly-train"
    for bad in ("Nightly", "a_b", "-a", "a" * 49, ""):
        with pytest.raises(InvalidNameError):
            N.validate_schedule_name(bad)
    assert len(N.cronjob_name("a" * 48)) == 52
