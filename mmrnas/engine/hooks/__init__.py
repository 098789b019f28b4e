"""MMEngine hooks of mmrnas (search outputs, retraining schedules)."""
from .drop_path_schedule_hook import DropPathScheduleHook
from .genotype_dump_hook import GenotypeDumpHook
from .search_logger_hook import SearchLoggerHook
from .search_plot_hook import SearchPlotHook

__all__ = ['DropPathScheduleHook', 'GenotypeDumpHook', 'SearchPlotHook', 'SearchLoggerHook']
