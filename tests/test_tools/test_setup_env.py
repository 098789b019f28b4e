"""tools/setup_env.sh refuses bad input with one clear line, before touching any venv, and
looks for prebuilt wheels only where it is told to and in its own cache."""
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo_copy(tmp_path):
    """The files setup_env.sh reads, in a scratch repository (so no real .venv is touched)."""
    (tmp_path / 'tools').mkdir()
    shutil.copy(ROOT / 'tools' / 'setup_env.sh', tmp_path / 'tools')
    shutil.copytree(ROOT / 'requirements', tmp_path / 'requirements')
    shutil.copy(ROOT / 'setup.py', tmp_path)
    return tmp_path


def run_setup(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    import os
    return subprocess.run(['bash', str(repo / 'tools' / 'setup_env.sh'), *args],
                          capture_output=True, text=True, env={**os.environ, **env}, timeout=60)


def test_wrong_python_version(repo_copy, tmp_path):
    old = tmp_path / 'python3.9'  # stands for an old interpreter: answers the version query
    old.write_text('#!/bin/sh\necho 3.9\n')
    old.chmod(0o755)
    result = run_setup(repo_copy, PYTHON=str(old))
    assert result.returncode == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1
    assert "FAILED at step 'check python'" in errors[0]
    assert 'Python 3.9 is not supported' in errors[0]
    assert 'needs Python 3.10-3.12' in errors[0] and 'set PYTHON=' in errors[0]
    assert not (repo_copy / '.venv').exists()


def test_missing_interpreter(repo_copy):
    result = run_setup(repo_copy, PYTHON='/nonexistent/python3')
    assert result.returncode == 1
    assert "No Python interpreter '/nonexistent/python3' found" in result.stderr
    assert not (repo_copy / '.venv').exists()


def test_unknown_argument(repo_copy):
    result = run_setup(repo_copy, '--frobnicate')
    assert result.returncode == 2
    assert "unknown argument '--frobnicate'" in result.stderr


@pytest.mark.parametrize('args, env, message', [
    (('--wheel-cache', '/nonexistent/wheels'), {},
     "--wheel-cache: no folder '/nonexistent/wheels'"),
    ((), {'MMRNAS_WHEEL_CACHE': '/nonexistent/wheels'},
     "MMRNAS_WHEEL_CACHE: no folder '/nonexistent/wheels'"),
    (('--wheel-cache', ), {}, '--wheel-cache needs a folder'),
])
def test_missing_wheel_cache(repo_copy, args, env, message):
    result = run_setup(repo_copy, *args, **env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f'setup_env: {message}' + (
        ' (see --help)' if 'needs' in message else '')]
    assert not (repo_copy / '.venv').exists()


def test_wheel_cache_stays_inside_its_own_folders():
    """No default outside the repository: an extra cache comes only from --wheel-cache or
    MMRNAS_WHEEL_CACHE, and the script's own cache lives in the user's cache folder."""
    script = (ROOT / 'tools' / 'setup_env.sh').read_text()
    assert '../' not in script and 'shared' not in script
    assert 'LOCAL_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/mmrnas/wheels"' in script
