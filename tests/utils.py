"""Helpers shared by the tests."""
import importlib.util
from pathlib import Path
from types import ModuleType

TOOLS = Path(__file__).resolve().parents[1] / 'tools'
QUICKSTART = TOOLS.parent / 'configs' / 'rnas_quickstart.py'


def quickstart_search_data():
    """The quickstart's search data (all 1,797 digits at 8x8, its mean / std), decoded:
    ``(TensorBatches, num_classes)``."""
    from mmengine.config import Config

    from mmrnas.datasets import load_search_dataset
    data = Config.fromfile(QUICKSTART).train_dataloader
    return load_search_dataset(data.dataset, data.mean, data.std)


def load_tool(name: str) -> ModuleType:
    """Import ``tools/<name>.py`` (e.g. ``'train'``, ``'dataset_converters/generate_tiny_voc'``)
    as a module: the tools are scripts, not a package."""
    module_name = 'mmrnas_tools_' + name.replace('/', '_')
    spec = importlib.util.spec_from_file_location(module_name, TOOLS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_backbone_checkpoint(backbone_state: dict, path: Path, extra: dict = None) -> dict:
    """Save a checkpoint whose ``backbone.*`` entries hold known values (random floats, 7 for
    integer buffers) for every tensor of ``backbone_state``, plus ``extra`` entries as they are;
    return the known backbone tensors by their keys without the prefix."""
    import torch
    generator = torch.Generator().manual_seed(0)
    known = {
        key: (torch.randn(value.shape, generator=generator)
              if value.is_floating_point() else torch.full_like(value, 7))
        for key, value in backbone_state.items()
    }
    state_dict = {f'backbone.{key}': value for key, value in known.items()}
    state_dict.update(extra or {})
    torch.save({'meta': {}, 'state_dict': state_dict}, path)
    return known


def run_toolbox_train_script(script: Path, config: Path, tmp_path: Path, backbone_state: dict,
                             options: dict, extra_args: tuple = ()) -> Path:
    """Run a toolbox's own ``tools/train.py`` on ``config`` for one epoch of batch 2 (validation
    after it), with the backbone loaded from a ``backbone.*`` checkpoint of ``backbone_state``
    and ``options`` as ``--cfg-options``; assert that it succeeded, loaded that checkpoint and
    saved ``epoch_1.pth``, and return the work dir."""
    import os
    import subprocess
    import sys

    import torch
    checkpoint = tmp_path / 'backbone.pth'
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in backbone_state.items()}},
               checkpoint)
    options = dict(options)
    options.update({
        'model.backbone.init_cfg.checkpoint': str(checkpoint),
        'train_dataloader.batch_size': 2,
        'val_dataloader.batch_size': 2,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'default_hooks.logger.interval': 1,
    })
    work_dir = tmp_path / 'work_dir'
    command = [sys.executable, str(script), str(config), '--work-dir', str(work_dir), *extra_args,
               '--cfg-options'] + [f'{key}={value}' for key, value in options.items()]
    env = dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f'load backbone. in model from: {checkpoint}' in result.stdout + result.stderr
    assert (work_dir / 'epoch_1.pth').is_file()
    return work_dir


def pyramid_check_message(build, cfg) -> str:
    """Build ``cfg`` with ``build`` (a task's model builder), expect the build-time pyramid
    check to refuse it with a ValueError, and return the message."""
    import pytest
    with pytest.raises(ValueError) as error:
        build(cfg)
    return str(error.value)


def assert_state_equals(module, expected: dict) -> None:
    """``module``'s state dict has exactly the keys of ``expected`` and equal tensors."""
    import torch
    state = module.state_dict()
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(state[key], value), key
