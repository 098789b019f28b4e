"""The boundary between the core and the full install level: what counts as full, and the one
line that stops a config, an import or a test that needs it under the core level.

The core level is reproduced without installing anything: ``core_mmcv`` is the installed mmcv's
Python code without its compiled ``_ext`` (what ``mmcv-lite`` ships), first on
``PYTHONPATH``."""
import importlib.machinery
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmrnas.utils.install_level import (
    FULL_INSTALL_COMMAND,
    FullInstallRequired,
    full_install_cause,
    has_mmcv_ops,
    missing_for_full,
    require_full_install,
)
from tests.utils import TOOLS

ROOT = TOOLS.parent
FULL_LINE = f'run {FULL_INSTALL_COMMAND} (docs/get_started.md)'


def mmcv_folder() -> Path:
    spec = importlib.util.find_spec('mmcv')
    if spec is None:
        pytest.skip('mmcv (or mmcv-lite) is not installed')
    return Path(spec.submodule_search_locations[0])


@pytest.fixture(scope='module')
def core_mmcv(tmp_path_factory) -> Path:
    """A folder whose ``mmcv`` is the installed one without compiled ops."""
    folder = tmp_path_factory.mktemp('core_mmcv')
    shutil.copytree(mmcv_folder(), folder / 'mmcv',
                    ignore=shutil.ignore_patterns('_ext.*', '__pycache__'))
    return folder


def run_python(args: list, pythonpath: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(('PYTEST_', 'CI'))}  # the outer pytest's, CI's
    environ.update(PYTHONPATH=f'{pythonpath}{os.pathsep}{ROOT}', **env)
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          env=environ, timeout=300)


def test_has_mmcv_ops_reads_the_compiled_extension(core_mmcv, tmp_path):
    check = ('from mmrnas.utils.install_level import has_mmcv_ops, missing_for_full; '
             'print(has_mmcv_ops(), missing_for_full([]))')
    result = run_python(['-c', check], core_mmcv)
    assert result.stdout.split('\n')[0] == "False [\"mmcv's compiled ops\"]", result.stderr
    # the same Python files with a compiled extension beside them: the full level's mmcv
    with_ops = tmp_path / 'with_ops'
    shutil.copytree(core_mmcv / 'mmcv', with_ops / 'mmcv')
    (with_ops / 'mmcv' / f'_ext{importlib.machinery.EXTENSION_SUFFIXES[0]}').write_bytes(b'')
    result = run_python(['-c', check], with_ops)
    assert result.stdout.split('\n')[0] == 'True []', result.stderr


def test_this_environment():
    """The check agrees with an import of mmcv's compiled extension."""
    assert has_mmcv_ops() == (importlib.util.find_spec('mmcv._ext') is not None)


def test_missing_toolboxes_by_distribution_name(monkeypatch):
    monkeypatch.setattr('mmrnas.utils.install_level.has_mmcv_ops', lambda: True)
    found = importlib.util.find_spec('json')
    absent = {'mmseg', 'no_such_toolbox'}
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name in absent else found)
    assert missing_for_full(['mmdet', 'mmseg', 'no_such_toolbox']) == [
        'mmsegmentation', 'no_such_toolbox'
    ]
    with pytest.raises(FullInstallRequired) as error:
        require_full_install('the segmentation configs', ['mmseg'])
    assert str(error.value) == (
        'the segmentation configs needs the full install (mmsegmentation not installed; this '
        f'environment has the core install at most): {FULL_LINE}')
    require_full_install('the detection configs', ['mmdet'])  # mmdet found: no error


def test_cause_found_behind_a_plain_import_error():
    """MMEngine's custom_imports re-raise ``ImportError('Failed to import X')`` while handling
    ours: the cause is found in the chain, and a chain without one gives None."""
    def import_config_modules():
        try:
            raise FullInstallRequired('needs the full install')
        except ImportError:
            raise ImportError('Failed to import mmrnas.downstream.mmdet_ssdlite')

    with pytest.raises(ImportError) as error:
        import_config_modules()
    assert str(full_install_cause(error.value)) == 'needs the full install'
    assert full_install_cause(ImportError('No module named foo')) is None


def test_config_import_errors_blamed_on_the_level_only_when_they_name_a_toolbox(
        tmp_path, monkeypatch):
    """load_config: an error naming a missing toolbox (MMEngine's ``mmdet::`` base message, a
    ``ModuleNotFoundError`` behind ``custom_imports``) becomes the one line; any other import
    error stays itself, even in a folder whose path names a toolbox."""
    from mmrnas.utils import cli
    monkeypatch.setattr(cli, 'missing_for_full', lambda: ['mmsegmentation'])
    for error in (ModuleNotFoundError('mmsegmentation is not installed, please install '
                                      'mmsegmentation manually'),
                  ModuleNotFoundError("No module named 'mmseg'", name='mmseg')):
        assert str(cli.full_install_reason('c.py', error)) == (
            "config 'c.py' needs the full install (mmsegmentation not installed; this "
            f'environment has the core install at most): {FULL_LINE}')
    assert cli.full_install_reason(
        'c.py', ModuleNotFoundError("No module named 'sklearn'", name='sklearn')) is None
    folder = tmp_path / 'envs' / 'mmdet'
    folder.mkdir(parents=True)
    (folder / 'config.py').write_text(
        "custom_imports = dict(imports=['no_such_module_xyz'], allow_failed_imports=False)\n")
    with pytest.raises(ImportError) as error:
        cli.load_config(str(folder / 'config.py'))
    assert not isinstance(error.value, FullInstallRequired)
    assert str(error.value).startswith('Failed to import custom modules from ')  # MMEngine's
    assert "'no_such_module_xyz'" in str(error.value)


@pytest.mark.slow
@pytest.mark.parametrize('config', [
    'detection/ssdlite_rnas-c46l14_8xb32-200e_voc0712-320.py',
    'segmentation/bisenetv1_rnas-c46l14_2xb8-80k_cityscapes-1024x1024.py',
    'pose/td-hm_rnas-c46l14_1xb128-140e_coco-256x192.py',
])
def test_downstream_config_under_core_is_one_line(core_mmcv, tmp_path, config):
    result = run_python([str(TOOLS / 'train.py'), str(ROOT / 'configs' / config),
                         '--work-dir', str(tmp_path / 'run')], core_mmcv)
    assert result.returncode == 2, result.stderr[-3000:]
    (line, ) = result.stderr.strip().splitlines()
    assert line.startswith('train.py: error: ') and 'needs the full install' in line
    assert line.endswith(FULL_LINE)
    assert not (tmp_path / 'run').exists()


def test_downstream_import_under_core_names_the_command(core_mmcv):
    result = run_python(['-c', 'import mmrnas.downstream.mmdet_ssdlite'], core_mmcv)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        'mmrnas.utils.install_level.FullInstallRequired: mmrnas.downstream (the detection, '
        "segmentation and pose integration) needs the full install (mmcv's compiled ops not "
        f'installed; this environment has the core install at most): {FULL_LINE}')


def test_full_level_tests_skipped_under_core_and_an_error_under_ci(core_mmcv):
    test = 'tests/test_stack/test_toolbox_smoke.py::test_mmseg_bisenetv1_forward'
    args = ['-m', 'pytest', '-n', '0', '-o', 'addopts=-rs', '-p', 'no:cacheprovider', test]
    result = run_python(args, core_mmcv)
    # mmcv's ops are missing in the copy; which toolboxes are depends on this environment
    ops = "mmcv's compiled ops"
    missing = ', '.join([ops] + [name for name in missing_for_full() if name != ops])
    assert result.returncode == 0, result.stdout[-3000:]
    assert '1 skipped' in result.stdout
    assert (f'needs the full install ({missing} not installed): {FULL_INSTALL_COMMAND}'
            in result.stdout), result.stdout[-3000:]
    result = run_python(args, core_mmcv, CI='false')  # the same: CI off
    assert result.returncode == 0 and '1 skipped' in result.stdout, result.stdout[-3000:]
    result = run_python(args, core_mmcv, CI='true')
    assert result.returncode == 4  # pytest's usage error
    assert (f'CI runs every test, and the full install is missing ({missing} not installed): '
            f'{FULL_INSTALL_COMMAND}') in result.stderr, result.stderr[-3000:]
