"""Writes what a search found: genotypes per generation, history, the best genotype."""
import json
import os.path as osp
from typing import Any, Dict, Optional, Sequence

import yaml
from mmengine.dist import master_only
from mmengine.hooks import Hook

from mmrnas.registry import HOOKS
from mmrnas.structures import Genotype
from mmrnas.utils.fileio import atomic_write
from ..search_record import search_archive, search_final, search_history

__all__ = ['GenotypeDumpHook']


def _population_yaml(title: Dict[str, Any], genotypes: Sequence[str]) -> str:
    """A YAML document with the decoded population (slot order); deterministic content."""
    body = dict(title, population=[Genotype.from_string(g).to_dict() for g in genotypes])
    return yaml.safe_dump(body, sort_keys=False, default_flow_style=None)


@HOOKS.register_module()
class GenotypeDumpHook(Hook):
    """Dumps the outputs of a :class:`~mmrnas.engine.RelativeNASSearchLoop` into ``work_dir``.

    - every generation: ``genotypes/generation_<NNN>.yaml`` (the population that generation
      evaluated, decoded, in slot order; generations count from 001, as the log and the
      checkpoints ``search_generation_<NNN>.pth`` do) and ``history.jsonl`` (one line per
      generation: pairs, losses, accuracies, teachers, diversity, lr, seconds);
    - at the end: ``best_genotype.yaml``, ``genotypes/final_population.yaml``,
      ``final_selection.json`` and drawings of the best cells (``best_genotype_normal.png``
      ...); for a multi-objective search ``pareto_front.yaml`` and ``pareto_front.png``.

    It reads what the search publishes in the runner's MessageHub
    (:func:`~mmrnas.engine.search_record.search_history`, ``search_final``), not the loop.
    Genotype files hold no times or paths, so two runs compare byte for byte. All writes are
    atomic; they are repeated from the published records when a resumed search starts, so a
    kill between a checkpoint and its outputs loses nothing.

    Args:
        draw (bool): Draw the best cells. Defaults to True.
        formats (Sequence[str]): Drawing formats, out of
            :data:`~mmrnas.visualization.cell_drawing.FORMATS` (one format may be given as a
            string). Defaults to ``('png', 'svg')``.
    """

    priority = 'LOW'

    def __init__(self, draw: bool = True, formats: Sequence[str] = ('png', 'svg')):
        from mmrnas.visualization.cell_drawing import FORMATS
        if not isinstance(draw, bool):
            raise ValueError(f'GenotypeDumpHook: draw={draw!r} is not a switch; it takes True '
                             f'or False')
        given = [formats] if isinstance(formats, str) else formats
        if not (isinstance(given, (list, tuple)) and given
                and all(fmt in FORMATS for fmt in given)):
            raise ValueError(f'GenotypeDumpHook: formats={formats!r} are not drawing formats; '
                             f'it takes a non-empty list out of {", ".join(FORMATS)}, e.g. '
                             f"('png', 'svg')")
        self.draw = draw
        self.formats = tuple(given)

    @master_only
    def before_train(self, runner) -> None:
        if search_history(runner):
            self._dump_generations(runner)
        if search_final(runner) is not None:
            self.after_train(runner)

    @master_only
    def after_train_epoch(self, runner) -> None:
        self._dump_generations(runner, only_last=True)

    def _dump_generations(self, runner, only_last: bool = False) -> None:
        history = search_history(runner)
        records = history[-1:] if only_last else history
        for record in records:
            generation = record['generation']
            atomic_write(
                osp.join(runner.work_dir, 'genotypes', f'generation_{generation:03d}.yaml'),
                _population_yaml(dict(generation=generation), record['population']))
        atomic_write(
            osp.join(runner.work_dir, 'history.jsonl'),
            ''.join(json.dumps(record, sort_keys=True) + '\n' for record in history))

    @master_only
    def after_train(self, runner) -> None:
        final: Optional[Dict[str, Any]] = search_final(runner)
        if final is None:
            return
        work_dir = runner.work_dir
        best = Genotype.from_string(final['genotype'])
        best.dump(osp.join(work_dir, 'best_genotype.yaml'))
        atomic_write(
            osp.join(work_dir, 'genotypes', 'final_population.yaml'),
            _population_yaml(dict(generation='final'), final['population']))
        atomic_write(osp.join(work_dir, 'final_selection.json'),
                     json.dumps(final, indent=2, sort_keys=True) + '\n')
        if 'pareto_front' in final:
            self._dump_front(runner, final)
        if self.draw:
            from mmrnas.visualization import save_genotype_drawings
            save_genotype_drawings(best, work_dir, formats=self.formats,
                                   prefix='best_genotype_')
        runner.logger.info(f'best genotype written to {osp.join(work_dir, "best_genotype.yaml")}')

    @staticmethod
    def _dump_front(runner, final: Dict[str, Any]) -> None:
        """``pareto_front.yaml`` (one entry per genotype of the front: genotype text,
        val_loss, val_accuracy, params, mult_adds, generation, feasible) and
        ``pareto_front.png`` (the archive and the front)."""
        from mmrnas.visualization import render_pareto_front
        front = final['pareto_front']
        body = dict(objectives=final['hypervolume']['objectives'],
                    hypervolume=final['hypervolume']['value'], front=front)
        atomic_write(osp.join(runner.work_dir, 'pareto_front.yaml'),
                     yaml.safe_dump(body, sort_keys=False))
        cost = final['hypervolume']['objectives'][1]
        atomic_write(osp.join(runner.work_dir, 'pareto_front.png'),
                     render_pareto_front(search_archive(runner), front, cost))
