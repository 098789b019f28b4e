"""Starting the process group of a multi-process launch on GPUs or on CPUs."""
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.dist import init_dist
from mmengine.registry import MODEL_WRAPPERS
from torch.nn.parallel import DistributedDataParallel

__all__ = ['init_distributed', 'setup_launcher', 'use_cpu_model_wrapper']


def init_distributed(launcher: str) -> None:
    """Join the process group of a ``torchrun`` (``'pytorch'``), slurm or mpi launch.

    With GPUs this is MMEngine's ``init_dist`` (NCCL, one device per local rank). Without,
    MMEngine 0.10 cannot start (it calls ``torch.cuda.set_device``), so a ``torchrun`` launch
    joins a gloo group instead: CPU processes can train together, e.g. for tests.

    Args:
        launcher (str): ``'none'`` (nothing to do), ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
    """
    if launcher == 'none' or dist.is_initialized():
        return
    if torch.cuda.is_available():
        init_dist(launcher, backend='nccl')
    elif launcher == 'pytorch':
        dist.init_process_group(backend='gloo')
    else:
        raise ValueError(f'--launcher {launcher} needs GPUs; on CPUs launch with torchrun '
                         f'(--launcher pytorch, e.g. tools/dist_train.sh CONFIG 2)')


def use_cpu_model_wrapper(cfg: Config) -> None:
    """Let MMEngine's Runner wrap a CPU model in DDP: no ``device_ids`` (it passes the local
    rank, which only a GPU module accepts). Does nothing when CUDA is available."""
    if torch.cuda.is_available():
        return
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper_type = wrapper['type']
    if isinstance(wrapper_type, str):
        wrapper_type = MODEL_WRAPPERS.get(wrapper_type)
    if isinstance(wrapper_type, type) and issubclass(wrapper_type, DistributedDataParallel):
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper


def setup_launcher(cfg: Config, launcher: str) -> None:
    """Set ``cfg.launcher`` for MMEngine's Runner and start the process group it needs (gloo
    and a CPU-ready DDP wrapper without GPUs, see :func:`init_distributed`)."""
    cfg.launcher = launcher
    init_distributed(launcher)
    if launcher != 'none':
        use_cpu_model_wrapper(cfg)
