"""tools/setup_env.sh refuses bad input with one clear line, before touching any venv, looks
for prebuilt wheels only where it is told to and in its own cache, and chooses the install
level, and what a switch removes, from the flags and what the .venv holds."""
import re
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
    (tmp_path / 'tools' / 'misc').mkdir()
    shutil.copy(ROOT / 'tools' / 'misc' / 'mmcv_ops.py', tmp_path / 'tools' / 'misc')
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


def make_venv(repo: Path, *dists: str, marker: str = None) -> None:
    """``repo/.venv``: a bare virtualenv whose site-packages hold the metadata of ``dists``
    (``name==version``), as pip leaves them, and optionally a setup marker: a finished run's
    (``'core'``, ``'full'``) or an unfinished one's (``'incomplete core'``, ...)."""
    import sys
    subprocess.run([sys.executable, '-m', 'venv', '--without-pip', str(repo / '.venv')],
                   check=True)
    (site, ) = (repo / '.venv' / 'lib').glob('python*/site-packages')
    for dist in dists:
        name, version = dist.split('==')
        info = site / f'{name.replace("-", "_")}-{version}.dist-info'
        info.mkdir()
        (info / 'METADATA').write_text(
            f'Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n')
    if marker:
        finished = '' if marker.startswith('incomplete') else '0123456789abcdef 3.11 x86_64 '
        (repo / '.venv' / '.mmrnas-setup-ok').write_text(f'{finished}{marker}\n')


FULL = ('mmcv==2.1.0', 'mmdet==3.3.0', 'mmsegmentation==1.2.2', 'mmpose==1.3.2',
        'xtcocotools==1.14.3')


@pytest.mark.parametrize('dists, marker, flag, level, remove', [
    ((), None, None, 'core', 'nothing'),  # a new .venv
    ((), None, '--full', 'full', 'nothing'),
    (('mmcv-lite==2.1.0', ), 'core', None, 'core', 'nothing'),
    (FULL, 'full', None, 'full', 'nothing'),  # the quickstart never downgrades a full .venv
    (FULL, None, None, 'full', 'nothing'),  # no marker (a failed run): what it holds
    (FULL, 'full', '--core', 'core', 'mmcv mmdet mmsegmentation mmpose xtcocotools'),
    (('mmcv-lite==2.1.0', ), 'core', '--full', 'full', 'mmcv-lite'),
    # both mmcvs (installed by hand): removing one deletes the other's files, both go
    (('mmcv==2.1.0', 'mmcv-lite==2.1.0'), None, '--full', 'full', 'mmcv-lite mmcv'),
    (('mmcv==2.1.0', 'mmcv-lite==2.1.0'), None, '--core', 'core', 'mmcv mmcv-lite'),
    (('mmdet==3.3.0', ), 'core', None, 'core', 'mmdet'),  # a toolbox added to a core .venv
    # mmcv-lite replaced by mmcv by hand after a core run: the installed mmcv wins
    (('mmcv==2.1.0', ), 'core', None, 'full', 'nothing'),
    # a --full run that failed after removing mmcv-lite, or before: full again
    ((), 'incomplete full', None, 'full', 'nothing'),
    (('mmcv-lite==2.1.0', ), 'incomplete full', None, 'full', 'mmcv-lite'),
    # a core .venv with only xtcocotools of the full level: mmcv-lite stays
    (('mmcv-lite==2.1.0', 'xtcocotools==1.14.3'), 'core', None, 'core', 'xtcocotools'),
])
def test_print_level(repo_copy, dists, marker, flag, level, remove):
    if dists or marker:
        make_venv(repo_copy, *dists, marker=marker)
    result = run_setup(repo_copy, '--print-level', *([flag] if flag else []))
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == [f'level: {level}', f'remove: {remove}']
    assert (repo_copy / '.venv').exists() == bool(dists or marker)  # nothing created


def test_core_and_full_exclude_each_other(repo_copy):
    result = run_setup(repo_copy, '--core', '--full')
    assert result.returncode == 2
    assert result.stderr.strip() == (
        'setup_env: --core and --full exclude each other (see --help)')


def requirement_names(name: str) -> dict:
    """``requirements/<name>.txt`` as {distribution: line}."""
    lines = (line.split('#', 1)[0].strip()
             for line in (ROOT / 'requirements' / f'{name}.txt').read_text().splitlines())
    return {re.split(r'[=<>!~\[ ]', line, 1)[0].lower(): line for line in lines if line}


def test_levels_hold_one_mmcv_each():
    """Core = mmcv_lite.txt + core.txt, full = core.txt + downstream.txt (tools/setup_env.sh
    and setup.py's extras): one mmcv each, of the same version, and the toolboxes only in
    full."""
    lite, core, full = (requirement_names(name)
                        for name in ('mmcv_lite', 'core', 'downstream'))
    assert lite == {'mmcv-lite': 'mmcv-lite==2.1.0'}
    assert full['mmcv'] == 'mmcv==2.1.0'
    assert not {'mmcv', 'mmcv-lite', 'mmdet', 'mmsegmentation', 'mmpose'} & set(core)
    assert {'mmpretrain', 'scikit-learn', 'onnx', 'onnxscript', 'onnxruntime'} <= set(core)
    assert not set(core) & set(full)
    setup = (ROOT / 'setup.py').read_text()
    assert ("'core': read_requirements('mmcv_lite') + read_requirements('core')" in setup
            and "'full': read_requirements('core') + read_requirements('downstream')" in setup)
