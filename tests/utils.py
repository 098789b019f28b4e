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
