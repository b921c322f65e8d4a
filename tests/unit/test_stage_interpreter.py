"""Stages find the interpreter that runs mlops-ci, unless the user activated another environment."""

from __future__ import annotations

import os

from mlops_ci.pipeline.stage_env import with_interpreter_on_path

PY = "/opt/toolkit/venv/bin/python"
PREFIX = "/opt/toolkit/venv"


def test_the_toolkit_interpreter_comes_first():
    env = with_interpreter_on_path({"PATH": "/usr/bin:/bin", "HOME": "/h"}, PY, PREFIX)
    assert env == {"PATH": f"/opt/toolkit/venv/bin{os.pathsep}/usr/bin:/bin", "HOME": "/h"}
    assert with_interpreter_on_path(env, PY, PREFIX) == env  # already first: unchanged


def test_its_own_activated_venv_still_gets_it_first():
    env = with_interpreter_on_path({"PATH": "/usr/bin", "VIRTUAL_ENV": PREFIX}, PY, PREFIX)
    assert env["PATH"].split(os.pathsep)[0] == "/opt/toolkit/venv/bin"


def test_another_active_environment_is_left_alone():
    for name in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        env = {"PATH": "/home/me/project/.venv/bin:/usr/bin", name: "/home/me/project/.venv"}
        assert with_interpreter_on_path(env, PY, PREFIX) == env


def test_no_path_at_all():
    assert with_interpreter_on_path({}, PY, PREFIX) == {"PATH": "/opt/toolkit/venv/bin"}
