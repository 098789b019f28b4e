"""The repository is lint-clean: ``ruff check`` with the configuration in ``ruff.toml``.

ruff is pinned in requirements/tests.txt, so tools/setup_env.sh --full installs it and this test
runs in CI; it is skipped only in an environment without ruff."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_is_clean():
    if importlib.util.find_spec('ruff') is None:
        pytest.skip('ruff is not installed (pip install -r requirements/tests.txt)')
    result = subprocess.run(
        [sys.executable, '-m', 'ruff', 'check', '--no-cache', '--output-format', 'full', '.'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (
        'ruff check found problems (fix them, or run `ruff check --fix .` for the safe ones):\n'
        + result.stdout + result.stderr)
