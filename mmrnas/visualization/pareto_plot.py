"""The accuracy / cost trade-off of a multi-objective search as a PNG."""
import io
from typing import Any, Dict, Sequence

__all__ = ['render_pareto_front']


def render_pareto_front(archive: Sequence[Dict[str, Any]], front: Sequence[Dict[str, Any]],
                        cost: str) -> bytes:
    """Every estimate of the archive (grey) and the non-dominated front (red steps), the
    validation loss against ``cost`` (``'params'`` or ``'mult_adds'``, in millions, or in
    thousands when every value is below a million; ``'latency_ms'`` in ms as predicted).

    Args:
        archive: Entries with ``val_loss`` and ``cost`` (None losses are left out).
        front: The front's entries, sorted by ``cost``.
        cost: The cost key on the x axis.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    seen = [entry for entry in archive if entry['val_loss'] is not None]
    largest = max((entry[cost] for entry in [*seen, *front]), default=0)
    scale, unit = (1e6, 'M') if largest >= 1e6 else (1e3, 'k')
    if cost == 'latency_ms':
        scale, unit = 1.0, 'ms, predicted'
    axes.scatter([entry[cost] / scale for entry in seen], [entry['val_loss'] for entry in seen],
                 s=10, color='tab:gray', alpha=0.5, label=f'estimates ({len(seen)})')
    axes.step([entry[cost] / scale for entry in front], [entry['val_loss'] for entry in front],
              where='post', color='tab:red', marker='o', label=f'Pareto front ({len(front)})')
    label = 'latency' if cost == 'latency_ms' else cost.replace('_', '-')
    axes.set(xlabel=f'{label} of the retraining network ({unit})',
             ylabel='estimated validation loss', title='accuracy / cost trade-off')
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png')
    return buffer.getvalue()
