"""tools/misc/mmcv_ops.py: which mmcv ops a machine needs (CPU or CUDA kernels), and the one
message setup_env.sh gives when a CUDA build has no toolkit."""
import os
import subprocess
import sys

import pytest

from tests.utils import TOOLS, load_tool

mmcv_ops = load_tool('misc/mmcv_ops')


@pytest.mark.parametrize('gpu, force, cuda, cpu_only, flavour', [
    (False, False, '13.0', False, 'cpu'),  # a CUDA PyTorch on a machine without GPU
    (True, False, '13.0', False, 'cu130'),
    (False, True, '12.8', False, 'cu128'),  # FORCE_CUDA=1, as mmcv's setup.py reads it
    (True, False, None, False, 'cpu'),  # a CPU-only PyTorch build
    (True, False, '13.0', True, 'cpu'),  # MMRNAS_MMCV_CPU_ONLY=1
])
def test_build_flavour(gpu, force, cuda, cpu_only, flavour):
    assert mmcv_ops.build_flavour(gpu, force, cuda, cpu_only) == flavour


def test_find_nvcc(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path / 'empty'))
    assert mmcv_ops.find_nvcc(str(tmp_path)) is None
    (tmp_path / 'bin').mkdir()
    (tmp_path / 'bin' / 'nvcc').write_text('')
    assert mmcv_ops.find_nvcc(str(tmp_path)) == str(tmp_path / 'bin' / 'nvcc')


def run(command: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items()
                   if k not in ('FORCE_CUDA', 'MMRNAS_MMCV_CPU_ONLY', 'CUDA_HOME')}
    environment.update(env)
    return subprocess.run([sys.executable, str(TOOLS / 'misc' / 'mmcv_ops.py'), command],
                          capture_output=True, text=True, env=environment, timeout=120)


@pytest.mark.skipif(__import__('torch').version.cuda is None, reason='needs a CUDA PyTorch build')
def test_cuda_build_without_toolkit_is_one_message(tmp_path):
    """FORCE_CUDA=1 stands for a GPU machine; CUDA_HOME is an empty folder and PATH has no
    nvcc: exit 1 and what to install."""
    import torch
    flavour = 'cu' + torch.version.cuda.replace('.', '')
    result = run('toolkit', FORCE_CUDA='1', CUDA_HOME=str(tmp_path),
                 PATH=os.path.dirname(sys.executable))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == mmcv_ops.missing_toolkit_message(
        flavour, torch.version.cuda)
    assert run('flavour', FORCE_CUDA='1').stdout.strip() == flavour
    # the installed (CPU-built) mmcv does not have what a GPU machine needs: setup reinstalls
    assert run('installed', FORCE_CUDA='1').returncode == 1
    assert run('toolkit', FORCE_CUDA='1', MMRNAS_MMCV_CPU_ONLY='1').returncode == 0


@pytest.mark.full_install
def test_this_machine():
    """The CI machine: no GPU, mmcv ops built for the CPU."""
    import torch
    if torch.cuda.is_available():
        pytest.skip('runs on a machine without GPU')
    assert run('flavour').stdout.strip() == 'cpu'
    assert run('toolkit').returncode == 0
    assert run('installed').returncode == 0
    assert run('report').stdout.strip() == 'mmcv ops: CPU only (no CUDA kernels)'
    assert run('bogus').returncode == 2
