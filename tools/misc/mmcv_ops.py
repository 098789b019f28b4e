"""Which mmcv ops this machine needs, and which the installed mmcv has (tools/setup_env.sh).

mmcv's ``setup.py`` compiles CUDA kernels whenever PyTorch sees a GPU
(``torch.cuda.is_available()``) or ``FORCE_CUDA=1``; that build needs the CUDA toolkit
(``nvcc``). A wheel built on a CPU machine installs on a GPU machine too, but has no CUDA
kernels: detection then fails only at its first ``nms`` on GPU tensors. So the wheel cache
keys its mmcv wheels by flavour, and the setup refuses a CUDA build without a toolkit before
the long compile.

Usage (run with the venv's Python, torch installed)::

    python tools/misc/mmcv_ops.py flavour   # prints 'cpu' or 'cuXYZ' (torch's CUDA version)
    python tools/misc/mmcv_ops.py toolkit   # exit 1 with one message if a CUDA build lacks nvcc
    python tools/misc/mmcv_ops.py installed # exit 1 if the installed mmcv ops lack the flavour
    python tools/misc/mmcv_ops.py report    # one line: the installed mmcv ops and their CUDA

``MMRNAS_MMCV_CPU_ONLY=1`` chooses a CPU-only build on a GPU machine knowingly (the setup then
builds with ``CUDA_VISIBLE_DEVICES=''``, so mmcv's ``setup.py`` does not see the GPU).
"""
import os
import os.path as osp
import shutil
import sys
from typing import Optional

CPU = 'cpu'


def build_flavour(gpu_visible: bool, force_cuda: bool, torch_cuda: Optional[str],
                  cpu_only: bool) -> str:
    """``'cpu'`` or ``'cu'`` + torch's CUDA version without the dot (``'cu130'``): what mmcv's
    ``setup.py`` would compile, unless ``cpu_only`` asks for CPU kernels.

    Args:
        gpu_visible: ``torch.cuda.is_available()``.
        force_cuda: ``FORCE_CUDA=1`` in the environment.
        torch_cuda: ``torch.version.cuda`` (None for a CPU-only PyTorch build).
        cpu_only: ``MMRNAS_MMCV_CPU_ONLY=1``.
    """
    if cpu_only or torch_cuda is None or not (gpu_visible or force_cuda):
        return CPU
    return 'cu' + torch_cuda.replace('.', '')


def find_nvcc(cuda_home: Optional[str]) -> Optional[str]:
    """The ``nvcc`` a CUDA build would use: ``CUDA_HOME/bin/nvcc`` or the one on PATH."""
    if cuda_home and osp.isfile(osp.join(cuda_home, 'bin', 'nvcc')):
        return osp.join(cuda_home, 'bin', 'nvcc')
    return shutil.which('nvcc')


def missing_toolkit_message(flavour: str, torch_cuda: str) -> str:
    """What to do when a CUDA build of mmcv's ops has no toolkit."""
    return (f"PyTorch sees a GPU (or FORCE_CUDA=1), so mmcv's ops must be compiled with CUDA "
            f'{torch_cuda} ({flavour}), but no CUDA toolkit (nvcc) was found: install the CUDA '
            f'{torch_cuda} toolkit and set CUDA_HOME to it (nvcc in CUDA_HOME/bin), or pass a '
            f'--wheel-cache with a prebuilt {flavour} mmcv wheel; to build CPU-only ops '
            f'knowingly, set MMRNAS_MMCV_CPU_ONLY=1 (detection then cannot run nms on GPU '
            f'tensors)')


def installed_cuda() -> Optional[str]:
    """The CUDA version the installed mmcv ops were compiled with, None for CPU-only ops."""
    from mmcv.ops import get_compiling_cuda_version
    version = get_compiling_cuda_version()
    return None if version == 'not available' else version


def current_flavour() -> str:
    """:func:`build_flavour` for this machine and environment."""
    import torch
    return build_flavour(torch.cuda.is_available(), os.environ.get('FORCE_CUDA') == '1',
                         torch.version.cuda, os.environ.get('MMRNAS_MMCV_CPU_ONLY') == '1')


def main(argv=None) -> int:
    command = (sys.argv[1:] if argv is None else argv or [''])[0]
    if command == 'flavour':
        print(current_flavour())
        return 0
    if command == 'toolkit':
        import torch
        from torch.utils.cpp_extension import CUDA_HOME
        flavour = current_flavour()
        if flavour != CPU and find_nvcc(CUDA_HOME) is None:
            print(missing_toolkit_message(flavour, torch.version.cuda), file=sys.stderr)
            return 1
        return 0
    if command == 'installed':
        cuda = installed_cuda()
        return int(current_flavour() != (CPU if cuda is None else 'cu' + cuda.replace('.', '')))
    if command == 'report':
        import torch
        cuda = installed_cuda()
        line = f'mmcv ops: CUDA {cuda} kernels' if cuda else 'mmcv ops: CPU only (no CUDA kernels)'
        if cuda is None and torch.cuda.is_available():
            line += ('; this machine has a GPU: detection fails at nms on GPU tensors (rerun '
                     'tools/setup_env.sh --force without MMRNAS_MMCV_CPU_ONLY)')
        print(line)
        return 0
    print('usage: mmcv_ops.py flavour|toolkit|installed|report', file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
