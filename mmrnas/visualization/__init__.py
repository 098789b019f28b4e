"""mmrnas.visualization: cell drawings (matplotlib, headless; Graphviz optional).

The submodules are imported on first attribute access, so ``import mmrnas.visualization`` does
not import matplotlib.
"""
from importlib import import_module
from typing import Any

__all__ = ['draw_cell', 'graphviz_available', 'save_genotype_drawings', 'render_pareto_front']

_LAZY = {name: '.cell_drawing' for name in __all__}
_LAZY['render_pareto_front'] = '.pareto_plot'


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first use."""
    if name not in _LAZY:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """Module attributes, lazy ones included."""
    return sorted(set(globals()) | set(__all__))
