"""Helpers shared by the tests."""
import importlib.util
from pathlib import Path
from types import ModuleType

TOOLS = Path(__file__).resolve().parents[1] / 'tools'


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
