"""`pldc doctor` and the decode check on the real default models, each in a child process, so a
llama.cpp crash (the AMX segfault, say) fails a test with the doctor's message instead of
killing the test run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pldc.models import DEFAULT_STUDENT, DEFAULT_TEACHER

pytestmark = pytest.mark.real_model


@pytest.mark.parametrize("model", [DEFAULT_STUDENT, DEFAULT_TEACHER])
def test_each_default_model_decodes_with_pldcs_own_parameters(model):
    from pldc.backends._cpu import read_cpu_info, weight_layout
    from pldc.doctor import check_decode

    check = check_decode(model, read_cpu_info(), weight_layout())
    assert check.ok, f"{check.detail}; fix: {check.fix}"


def test_doctor_passes_every_check_on_this_machine_and_prints_json():
    done = subprocess.run(
        [sys.executable, "-m", "pldc.cli", "doctor", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = json.loads(done.stdout)
    failed = [c for c in report["checks"] if not c["ok"]]
    assert done.returncode == 0, failed
    assert report["ok"] is True
    names = [c["name"] for c in report["checks"]]
    for model in (DEFAULT_TEACHER, DEFAULT_STUDENT):
        assert f"{model} file" in names
        assert f"{model} decode" in names
    assert "repacked" in report["facts"]["weight layout"]
    assert report["facts"]["llama-cpp-python"]
