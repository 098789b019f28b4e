"""mmrnas.engine: MMEngine glue — the search loop, its checkpoints, and hooks."""
from .hooks import DropPathScheduleHook, GenotypeDumpHook, SearchPlotHook
from .search_checkpoint import last_checkpoint_path, load_search_checkpoint, save_search_checkpoint
from .search_loop import RelativeNASSearchLoop
from .search_preflight import check_search_config

__all__ = [
    'RelativeNASSearchLoop', 'GenotypeDumpHook', 'SearchPlotHook', 'DropPathScheduleHook',
    'save_search_checkpoint', 'load_search_checkpoint', 'last_checkpoint_path',
    'check_search_config'
]
