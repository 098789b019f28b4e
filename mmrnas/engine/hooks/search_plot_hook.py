"""Plots the progress of a search: losses, diversity and lr per generation."""
import io
import os.path as osp

from mmengine.dist import master_only
from mmengine.hooks import Hook

from mmrnas.registry import HOOKS
from mmrnas.utils.fileio import atomic_write

__all__ = ['SearchPlotHook']


@HOOKS.register_module()
class SearchPlotHook(Hook):
    """Redraws ``work_dir/search_progress.png`` after every generation of a search.

    Left: mean validation loss of the teachers and of the students, and the best teacher's
    loss. Right: population diversity (mean distance to the population mean, the reference's
    log value) and the generation's lr.

    Args:
        filename (str): Output file name in ``work_dir``. Defaults to
            ``'search_progress.png'``.
    """

    priority = 'LOW'

    def __init__(self, filename: str = 'search_progress.png'):
        self.filename = filename

    @master_only
    def after_train_epoch(self, runner) -> None:
        history = runner.train_loop.history
        if history:
            atomic_write(osp.join(runner.work_dir, self.filename), self.render(history))

    @staticmethod
    def render(history) -> bytes:
        """The plot of ``history`` (the loop's per-generation records) as PNG bytes."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        generations = [r['generation'] for r in history]
        teacher, student, best = [], [], []
        for record in history:
            roles = {'teacher': [], 'student': []}
            for pair in record['pairs']:
                for member, loss in zip(pair['members'], pair['val_loss']):
                    if loss is not None:
                        roles['teacher' if member == pair['teacher'] else 'student'].append(loss)
            teacher.append(sum(roles['teacher']) / len(roles['teacher'])
                           if roles['teacher'] else float('nan'))
            student.append(sum(roles['student']) / len(roles['student'])
                           if roles['student'] else float('nan'))
            best.append(min(roles['teacher'], default=float('nan')))
        figure = Figure(figsize=(10, 4), dpi=100)
        FigureCanvasAgg(figure)
        losses, diversity = figure.subplots(1, 2)
        losses.plot(generations, teacher, marker='o', label='teachers (mean)')
        losses.plot(generations, student, marker='o', label='students (mean)')
        losses.plot(generations, best, linestyle='--', label='best teacher')
        losses.set(xlabel='generation', ylabel='validation loss', title='candidate losses')
        losses.legend()
        diversity.plot(generations, [r['diversity'] for r in history], marker='o',
                       color='tab:green', label='diversity')
        diversity.set(xlabel='generation', ylabel='diversity', title='population')
        lr_axis = diversity.twinx()
        lr_axis.plot(generations, [r['lr'] for r in history], color='tab:gray', linestyle=':',
                     label='lr')
        lr_axis.set_ylabel('lr')
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format='png')
        return buffer.getvalue()
