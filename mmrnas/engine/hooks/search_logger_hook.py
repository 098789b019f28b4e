"""Logs a search's pairs and generations and publishes their numbers as scalars."""
import sys
import time
from datetime import timedelta
from typing import Any, Dict, Optional

from mmengine.hooks import Hook

from mmrnas.registry import HOOKS
from ..search_record import (
    generation_summary,
    pair_scalars,
    publish_scalars,
    search_final,
    search_history,
    search_pair,
)

__all__ = ['SearchLoggerHook']


def _number(value: Optional[float], spec: str) -> str:
    """``value`` formatted, or ``nan`` for a number the record holds as None (not finite)."""
    return 'nan' if value is None else format(value, spec)


@HOOKS.register_module()
class SearchLoggerHook(Hook):
    """The log of a search (the ``logger`` of its ``default_hooks``, in place of MMEngine's
    ``LoggerHook``, which logs optimizer iterations).

    After each pair (an iteration of the search loop): one line with both members' estimates,
    the teacher and the pair's seconds, and the ``search/pair/*`` scalars (teacher and student
    validation loss and accuracy) at step ``runner.iter + 1``. After each generation (an
    epoch): one line with its lr, drop path, diversity, best teacher loss, seconds, ETA (and
    the feasible share under constraints), and the ``search/*`` scalars of
    :func:`~mmrnas.engine.search_record.generation_summary` at step ``generation``. After the
    search: the final selection. Scalars go to the MessageHub and to the visualizer's backends
    (TensorBoard, W&B, ... as the config's ``visualizer`` lists them). On a terminal a progress
    bar counts the pairs of a generation. Before the first generation of a resumed search:
    where it continues from and the settings changed on purpose.
    """

    #: Before hooks of the default priority, which then read this pair's (generation's)
    #: scalars from the MessageHub.
    priority = 'ABOVE_NORMAL'

    def __init__(self) -> None:
        self._progress: Any = None
        self._pair_start = 0.0

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        if loop.resumed_from is None:
            return
        for entry in loop.resume_log:
            if entry['generation'] == runner.epoch:
                runner.logger.warning(
                    f'resume: settings changed on purpose (resume_changes) after generation '
                    f'{runner.epoch}: {entry["changed"]}')
        runner.logger.info(f'resumed the search from {loop.resumed_from} at generation '
                           f'{runner.epoch}/{loop.max_generations}')

    def before_train_epoch(self, runner) -> None:
        if sys.stdout.isatty():
            from mmengine.utils import ProgressBar
            self._progress = ProgressBar(runner.train_loop.pairs_per_generation)

    def before_train_iter(self, runner, batch_idx: int, data_batch: Any = None) -> None:
        self._pair_start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx: int, data_batch: Any = None,
                         outputs: Optional[Dict[str, float]] = None) -> None:
        pair = search_pair(runner)
        loop = runner.train_loop
        members = pair['members']
        parts = [
            f'member {member}: loss {_number(pair["val_loss"][position], ".4f")} acc '
            f'{_number(pair["val_accuracy"][position], ".2f")}%'
            for position, member in enumerate(members)
        ]
        outcome = ('both estimates are not finite: nothing written back, no update'
                   if pair['skipped'] else f'teacher {pair["teacher"]}')
        for position, member in enumerate(members):
            finite = pair['train_loss'][position] is not None and pair['val_loss'][
                position] is not None
            if not finite and not pair['skipped']:
                outcome += f' (member {member} is not finite: it loses and writes nothing back)'
        runner.logger.info(
            f'generation {runner.epoch + 1}/{loop.max_generations} pair {batch_idx + 1}/'
            f'{loop.pairs_per_generation}: {parts[0]} | {parts[1]} -> {outcome}; '
            f'{time.perf_counter() - self._pair_start:.1f}s')
        publish_scalars(runner, pair_scalars(pair), 'search/pair/', runner.iter + 1)
        if self._progress is not None:
            self._progress.update()

    def after_train_epoch(self, runner) -> None:
        self._progress = None
        history = search_history(runner)
        record, done = history[-1], history[-1]['generation']
        max_generations = runner.train_loop.max_generations
        summary = generation_summary(record)
        spent = sum(entry['seconds'] for entry in history)
        remaining = spent / done * (max_generations - done)
        runner.logger.info(
            f'generation {done}/{max_generations} done: lr {summary["lr"]:.6f}, drop path '
            f'{summary["drop_path_rate"]:.3f}, diversity {summary["diversity"]:.4f}, best '
            f'teacher loss {summary["best_teacher_val_loss"]:.4f}, {summary["seconds"]:.1f}s, '
            f'ETA {timedelta(seconds=round(remaining))}' + (
                f', feasible {summary["feasible_share"]:.0%} of the population'
                if 'feasible_share' in summary else ''))
        publish_scalars(runner, summary, 'search/', done)

    def after_train(self, runner) -> None:
        final = search_final(runner)
        if final is not None:
            runner.logger.info(
                f'search finished: {final["mode"]} selection -> {final["genotype"]}')
