"""Plots the progress of a search: losses, diversity and lr per generation."""
import io
import os.path as osp

from mmengine.dist import master_only
from mmengine.hooks import Hook

from mmrnas.registry import HOOKS
from mmrnas.utils.fileio import atomic_write
from ..search_record import generation_summary, search_history

__all__ = ['SearchPlotHook']


@HOOKS.register_module()
class SearchPlotHook(Hook):
    """Redraws ``work_dir/search_progress.png`` after every generation of a search.

    Drawn from the generation records the search publishes in the MessageHub. Left: mean
    validation loss of the teachers and of the students, and the best teacher's loss. Right:
    population diversity (mean distance to the population mean, the reference's log value)
    and the generation's lr.

    Args:
        filename (str): Output file in ``work_dir``, a relative path ending in ``.png``.
            Defaults to ``'search_progress.png'``.
    """

    priority = 'LOW'

    def __init__(self, filename: str = 'search_progress.png'):
        if not (isinstance(filename, str) and filename.endswith('.png')
                and not osp.isabs(filename)):
            raise ValueError(f"SearchPlotHook: filename={filename!r} is not a PNG file in "
                             f"work_dir; it takes a relative path ending in '.png', e.g. "
                             f"'search_progress.png'")
        self.filename = filename

    @master_only
    def after_train_epoch(self, runner) -> None:
        history = search_history(runner)
        if history:
            atomic_write(osp.join(runner.work_dir, self.filename), self.render(history))

    @staticmethod
    def render(history) -> bytes:
        """The plot of the generation records (:func:`~mmrnas.engine.search_record.
        generation_summary` of each) as PNG bytes."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        generations = [r['generation'] for r in history]
        summaries = [generation_summary(r) for r in history]

        def series(key):
            return [summary[key] for summary in summaries]

        figure = Figure(figsize=(10, 4), dpi=100)
        FigureCanvasAgg(figure)
        losses, diversity = figure.subplots(1, 2)
        losses.plot(generations, series('mean_teacher_val_loss'), marker='o',
                    label='teachers (mean)')
        losses.plot(generations, series('mean_student_val_loss'), marker='o',
                    label='students (mean)')
        losses.plot(generations, series('best_teacher_val_loss'), linestyle='--',
                    label='best teacher')
        losses.set(xlabel='generation', ylabel='validation loss', title='candidate losses')
        losses.legend()
        diversity.plot(generations, series('diversity'), marker='o', color='tab:green',
                       label='diversity')
        diversity.set(xlabel='generation', ylabel='diversity', title='population')
        lr_axis = diversity.twinx()
        lr_axis.plot(generations, series('lr'), color='tab:gray', linestyle=':', label='lr')
        lr_axis.set_ylabel('lr')
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format='png')
        return buffer.getvalue()
