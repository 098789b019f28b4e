"""``RelativeNASSearchLoop``: the RelativeNAS search as an MMEngine training loop."""
import math
import os.path as osp
import sys
import time
from datetime import timedelta
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.registry import OPTIMIZERS
from mmengine.runner import BaseLoop

from mmrnas.datasets import (
    build_search_split,
    dataset_identity,
    describe_search_data,
    parse_search_dataloader,
    prepare_search_data,
    split_indices,
)
from mmrnas.registry import LOOPS
from mmrnas.search import Population, build_population_update
from mmrnas.search.budget import SearchBudget
from mmrnas.search.schedules import search_drop_path_rate, search_lr
from mmrnas.search.weight_set import pair_write_back
from mmrnas.structures import Genotype
from .data_parallel import broadcast_from_rank0
from .estimators import CandidateResult, build_search_estimator
from .final_selection import build_final_selection, finite_or_none
from .search_checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_KIND,
    capture_rng_states,
    restore_rng_states,
    to_arrays,
    to_tensors,
)
from .search_checkpointer import SearchCheckpointer
from .search_record import (
    ARCHIVE_KEY,
    FINAL_KEY,
    HISTORY_KEY,
    generation_summary,
    pair_scalars,
)
from .search_settings import (
    check_resume_settings,
    check_search_arguments,
    parse_search_optim_wrapper,
    plain,
    settings_diff,
)
from .search_teacher import build_search_teacher
from .search_work_dir import check_new_search_work_dir

__all__ = ['RelativeNASSearchLoop']


@LOOPS.register_module()
class RelativeNASSearchLoop(BaseLoop):
    """Runs a RelativeNAS search: one "epoch" of the runner is one generation.

    Each generation (docs/reference.md §3.1): pair the population at random; for each pair, in
    order, cut both candidates out of the weight set (the runner's model, a
    :class:`~mmrnas.models.RelativeNASSupernet`), train each for one epoch on the training half
    and validate it on the other half (§4.2-4.3), make the better one the teacher (fast
    learner) and write weights back (§4.4) before the next pair; then move every student toward
    its teacher with the slow-fast update. After the last generation a final selection (not in
    the reference, §5) picks the architecture.

    The runner's ``train_dataloader`` config describes the data; every image is read once
    (checked, hashed, labels counted) and kept as uint8 tensors on the model's device, or, for
    data over ``device_memory_budget``, in host memory (batches copied to the device), or, over
    ``host_memory_budget`` too, read again from the files for every batch by the workers of a
    DataLoader built by MMEngine; augmentation is batched on the device in every case::

        train_dataloader = dict(
            # any registered dataset, built in the mmpretrain scope; uint8 images of one size
            dataset=dict(type='CIFAR10', data_root='data/cifar10',
                         pipeline=[dict(type='PackInputs')]),
            mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616),  # None: computed
            train_portion=0.5, batch_size=256, val_batch_size=256,
            augment=dict(crop_padding=4, flip=True, cutout=16),
            validate_with_train_augment=False,
            data_placement='auto',  # or 'device' / 'host' / 'stream'
            device_memory_budget=None,  # bytes or '2GiB'; None: 1/4 of the device memory
            host_memory_budget=None,  # None: 1/2 of the physical RAM
            num_workers=0, pin_memory=None, persistent_workers=True,  # reading (DataLoader)
            prefetch_factor=None)

    The runner's ``optim_wrapper`` config is the per-candidate optimizer: ``optimizer.lr``
    is the initial search lr (cosine to ``lr_min`` over generations), ``clip_grad.max_norm``
    and ``norm_type`` the grad-norm clip; every candidate gets a fresh optimizer. What the
    search does not honour (another wrapper type, ``paramwise_cfg``, a ``param_scheduler``)
    is refused at build, with the rest of the config checks
    (:mod:`~mmrnas.engine.search_settings`).

    Every generation writes an atomic checkpoint (population, velocities, weight set, all RNG
    states, split indices, history) to ``work_dir/checkpoints``; ``resume`` continues a stopped
    search exactly.

    Launched on several processes (``tools/dist_search.sh CONFIG N``), each candidate trains
    data-parallel (see :class:`~mmrnas.search.candidate_trainer.CandidateTrainer`); rank 0
    decides the pairs, the teachers and the population update and broadcasts them, and alone
    writes checkpoints and outputs. Every process holds the whole split and weight set.

    Args:
        runner (Runner): The runner.
        dataloader (dict): The search data config above.
        max_generations (int): Number of generations (reference: 50).
        population_size (int): Even number of individuals (reference: 20).
        lr_min (float): Final lr of the cosine schedule (reference: 0.001).
        reference_lr_quirk (bool): Use the reference's compounded cosine lr instead of the
            closed form (see :func:`~mmrnas.search.schedules.search_lr`). Defaults to False.
        drop_path_rate (float): Drop-path probability reached at the end, ``rate * g / G``
            (reference: 0.3).
        teacher_criterion (str): Shorthand for ``teacher=dict(type='PairTeacher',
            criterion=...)``: ``'loss'`` (reference) or ``'accuracy'``.
        teacher (dict, optional): A registered
            :class:`~mmrnas.engine.search_teacher.SearchTeacher`; None (default): ``PairTeacher``
            with ``teacher_criterion`` (the budget's rules first, then the criterion).
        phi (float): Shorthand for ``SlowFastUpdate(phi=...)``, the weight of the optional
            population-mean (CSO) term; 0 = reference.
        population_update (str | dict): How the population moves after a generation, a
            registered :class:`~mmrnas.search.PopulationUpdate`:
            ``dict(type='SlowFastUpdate', phi=0.0)`` (the reference: every student moves
            towards its teacher; shorthand ``'slow_fast'``, the default) or
            ``dict(type='RandomRedraw')`` (``'random'``: every individual is redrawn
            uniformly, velocities zero: random search with the same weight-sharing estimates,
            pair write-back and cost; its final selection chooses among the
            ``population_size`` best distinct genotypes it estimated, since its last draw was
            never estimated; ``phi`` and ``'most_frequent'`` are refused with it).
        final_selection (str | dict): A registered
            :class:`~mmrnas.engine.final_selection.FinalSelection`:
            ``dict(type='ReevaluateSelection')`` (``'reevaluate'``, default: train and validate
            every final member once more from the final weight set, without write-back, and
            take the best), ``'LastGenerationSelection'`` (``'last_generation'``: the best
            teacher of the last generation) or ``'MostFrequentSelection'``
            (``'most_frequent'``: the mode of the final population).
        constraints (dict, optional): Resource limits of the network you will retrain,
            ``dict(params=3.0e6, mult_adds=6.0e8)`` (upper bounds; ``(low, high)`` also
            accepted), counted on ``constraint_model``. In a pair a feasible candidate beats an
            infeasible one and between two infeasible ones the smaller total relative
            violation wins (all are still trained and written back when they teach); the
            final selection takes feasible genotypes only (see
            :class:`~mmrnas.search.budget.SearchBudget`). Defaults to None.
        constraint_model (dict, optional): The retraining network the constraints and cost
            objectives are counted on: ``dict(base_channels=36, num_cells=20, stem='cifar',
            num_classes=10, input_size=32)`` (params without auxiliary head, mult-adds with the
            project's counter, cached per genotype; ``in_channels`` defaults to the search
            data's channels). Needed with ``constraints`` or cost ``objectives``.
        objectives (Sequence[str], optional): ``('val_loss', 'params')`` (or ``'mult_adds'``,
            or both) for a multi-objective search: the teacher of a pair is the member that
            Pareto-dominates, else the one leaving the larger hypervolume of the front the
            run reports (each genotype's latest estimate, feasible ones only under
            constraints: ``SearchBudget.front_candidates``); the run writes
            ``pareto_front.yaml`` and its plot and reports the front's hypervolume in
            ``final_selection.json``. Defaults to None (single objective).
        seed (int, optional): Seed of the search; defaults to the runner's seed. Four
            independent streams are spawned from it (``numpy.random.SeedSequence(seed).
            spawn(4)``): the split, the population (initial positions, pairing, update
            factors), the data order and augmentation (a PyTorch generator) and PyTorch's
            global RNG (drop-path masks), seeded when a new search starts.
        resume (bool | str): Continue from ``work_dir``'s last checkpoint (True) or from a path.
            The checkpoint must hold the same settings (:attr:`settings`: everything that
            shapes the result) and come from the same device type; any difference is one
            error naming each changed key. True without a checkpoint to continue is an error;
            False (a new search) is refused in a work dir that holds a search
            (:mod:`~mmrnas.engine.search_work_dir`). None (default): MMEngine's top-level
            ``resume`` of the config. A resume from an earlier checkpoint than the work dir's
            newest first copies the work dir into ``previous_searches/<time>/``.
        resume_changes (Sequence[str]): Settings a resume may change on purpose (out of
            :data:`~mmrnas.engine.search_settings.RESUME_CHANGEABLE`), e.g.
            ``['max_generations']`` to extend a search (the cosine lr and drop-path schedules
            follow the new length from the next generation on; a finished search drops its
            final selection and goes on). Changes are logged and recorded in the checkpoints.
            Defaults to ``()``.
        max_keep_checkpoints (int): Generation checkpoints kept in ``work_dir/checkpoints``;
            older ones that this search wrote are deleted (no other file is). Defaults to 3.
        precision, channels_last, cuda_graph, concurrent_pairs: Shorthands for the options
            of ``estimator=dict(type='OneEpochEstimator', ...)`` (refused beside
            ``estimator``): bf16 autocast, channels-last, CUDA graphs, concurrent pair members
            (:class:`~mmrnas.search.candidate_trainer.CandidateTrainer` documents them).
        estimator (dict, optional): A registered
            :class:`~mmrnas.engine.search_estimator.SearchEstimator`; None (default): the
            paper's one-epoch estimate, ``OneEpochEstimator`` with the shorthands above.
    """

    def __init__(self,
                 runner,
                 dataloader: dict,
                 max_generations: int = 50,
                 population_size: int = 20,
                 lr_min: float = 0.001,
                 reference_lr_quirk: bool = False,
                 drop_path_rate: float = 0.3,
                 teacher_criterion: str = 'loss',
                 phi: float = 0.0,
                 population_update: Union[str, dict] = 'slow_fast',
                 final_selection: Union[str, dict] = 'reevaluate',
                 seed: Optional[int] = None,
                 resume: Union[None, bool, str] = None,
                 resume_changes: Sequence[str] = (),
                 max_keep_checkpoints: int = 3,
                 precision: str = 'fp32',
                 channels_last: bool = False,
                 cuda_graph: bool = False,
                 concurrent_pairs: bool = False,
                 estimator: Optional[dict] = None,
                 teacher: Optional[dict] = None,
                 constraints: Optional[dict] = None,
                 constraint_model: Optional[dict] = None,
                 objectives: Optional[Sequence[str]] = None) -> None:
        super().__init__(runner, None)
        check_search_arguments(max_generations, population_size, lr_min, drop_path_rate,
                               max_keep_checkpoints, resume_changes)
        if runner.cfg.get('param_scheduler'):
            raise ValueError('param_scheduler is not used by a search: the lr follows the '
                             "loop's cosine from optim_wrapper.optimizer.lr to "
                             'train_cfg.lr_min; remove param_scheduler from the config')
        self.max_generations = max_generations
        self.population_size = population_size
        self.lr_min = lr_min
        self.reference_lr_quirk = reference_lr_quirk
        self.drop_path_rate = drop_path_rate
        self.teacher = build_search_teacher(teacher, teacher_criterion)
        #: The registered parts (:mod:`~mmrnas.search.population_update`,
        #: :mod:`~mmrnas.engine.final_selection`).
        self.population_update = build_population_update(population_update, phi)
        self.final_selection = build_final_selection(final_selection, self.population_update,
                                                     population_update)
        self.estimator = build_search_estimator(
            estimator, dict(precision=precision, channels_last=channels_last,
                            cuda_graph=cuda_graph, concurrent_pairs=concurrent_pairs))
        # A config without any seed gets a random one from the runner; a resume then takes
        # the checkpoint's seed instead of refusing a "changed" seed.
        self._seed_given = seed is not None or (runner.cfg.get('randomness')
                                                or {}).get('seed') is not None
        self.seed = runner.seed if seed is None else seed
        self.resume_changes = tuple(resume_changes)
        self.work_dir = runner.work_dir

        self.lr, optimizer, max_norm, norm_type = parse_search_optim_wrapper(
            runner.cfg.get('optim_wrapper') or {}, lambda kind: OPTIMIZERS.get(kind) is not None)
        data = parse_search_dataloader(dataloader)
        self.device = next(self.model.parameters()).device
        self.checkpoints = SearchCheckpointer(self.work_dir, max_keep_checkpoints,
                                              self.device.type)
        search_data, self.data_placement, placement_line = prepare_search_data(
            data, self.device, self.seed)
        self.dataset, num_classes = search_data.dataset, search_data.num_classes
        model_classes = self.model.classifier.out_features
        if model_classes != num_classes:
            raise ValueError(f'the supernet has {model_classes} outputs but the search dataset '
                             f'has {num_classes} classes: set model.num_classes={num_classes}')
        model_channels, channels = self.model.stem[0].in_channels, search_data.shape[0]
        if model_channels != channels:
            raise ValueError(f'the supernet takes {model_channels}-channel images but the search '
                             f'dataset gives {channels}: set model.in_channels={channels}')
        runner.logger.info(describe_search_data(data['dataset'], search_data,
                                                data['mean'] is not None, data['std'] is not None))
        runner.logger.info(placement_line)
        #: Constraints, cost objectives and the archive; None for a plain search.
        self.budget = SearchBudget.from_config(constraints, constraint_model, objectives,
                                               num_classes, channels)
        # Independent streams, all spawned from the seed: the split, the population (initial
        # positions, pairing, update factors), the data order and augmentation, and PyTorch's
        # global RNG (drop-path masks; seeded when a new search starts).
        split_seed, population_seed, data_seed, drop_path_seed = np.random.SeedSequence(
            self.seed).spawn(4)
        self._drop_path_seed = int(drop_path_seed.generate_state(1, np.uint64)[0])
        self.split = dict(
            zip(('train', 'val'),
                split_indices(len(self.dataset), data['train_portion'], split_seed)))
        train_augment = data['augment']
        self.data_generator = torch.Generator(device=self.device)
        self.data_generator.manual_seed(int(data_seed.generate_state(1, np.uint64)[0]))
        self.estimator.setup(
            *build_search_split(self.dataset, self.split['train'], self.split['val'],
                                self.device, self.data_placement),
            generator=self.data_generator,
            batch_size=data['batch_size'],
            val_batch_size=data['val_batch_size'],
            optimizer=optimizer,
            max_grad_norm=max_norm,
            grad_norm_type=norm_type,
            train_augment=train_augment,
            val_augment=train_augment if data['validate_with_train_augment'] else None)

        self.rng = np.random.Generator(np.random.PCG64(population_seed))
        self.population = Population.random(population_size, self.rng)
        self.history: List[Dict[str, Any]] = []
        self.final: Optional[Dict[str, Any]] = None
        self._generation = 0
        #: Everything that shapes the result; recorded in every checkpoint, checked on resume.
        self.settings: Dict[str, Any] = plain(
            dict(seed=self.seed,
                 population_size=population_size,
                 max_generations=max_generations,
                 lr=self.lr,
                 lr_min=lr_min,
                 reference_lr_quirk=reference_lr_quirk,
                 drop_path_rate=drop_path_rate,
                 **self.population_update.settings,
                 **self.teacher.settings,
                 **self.final_selection.settings,
                 optimizer=optimizer,
                 clip_grad=dict(max_norm=max_norm, norm_type=norm_type),
                 train_portion=data['train_portion'],
                 batch_size=data['batch_size'],
                 val_batch_size=data['val_batch_size'],
                 augment=None if train_augment is None else vars(train_augment),
                 validate_with_train_augment=data['validate_with_train_augment'],
                 dataset=dataset_identity(data['dataset'], search_data),
                 supernet=runner.cfg.model,
                 **self.estimator.settings,
                 **(self.budget.settings if self.budget is not None else dict(
                     constraints=None, constraint_model=None, objectives=None))))
        #: Settings changed on purpose by resumes: ``[{'generation': g, 'changed': {...}}]``.
        self.resume_log: List[Dict[str, Any]] = []
        self._resume_path, self._resume_state = (None, None)
        if resume is None:  # MMEngine's top-level key, as the Runner reads it
            resume = bool(runner.cfg.get('resume', False))
        if resume:
            self._resume_path, self._resume_state = self._read_checkpoint(resume)
        else:
            check_new_search_work_dir(self.work_dir)

    # ------------------------------------------------------------------ runner protocol
    @property
    def model(self):
        """The weight set (the runner's model, unwrapped)."""
        model = self.runner.model
        return getattr(model, 'module', model)

    @property
    def max_epochs(self) -> int:
        return self.max_generations

    @property
    def max_iters(self) -> int:
        return self.max_generations

    @property
    def epoch(self) -> int:
        """Completed generations."""
        return self._generation

    @property
    def iter(self) -> int:
        return self._generation

    @property
    def best_genotype(self) -> Optional[Genotype]:
        """The final selection's architecture, once the search has finished."""
        return None if self.final is None else Genotype.from_string(self.final['genotype'])

    def run(self):
        """Run the remaining generations and the final selection."""
        if self._resume_state is not None:
            self._keep_later_results()
            self._apply_checkpoint()
        else:
            torch.manual_seed(self._drop_path_seed)
        self._publish_records()
        self.runner.call_hook('before_train')
        while self._generation < self.max_generations:
            self.runner.call_hook('before_train_epoch')
            self.history.append(self._run_generation(self._generation))
            self._generation += 1
            self._save()
            self._publish_records()
            self.runner.call_hook('after_train_epoch')
        if self.final is None:
            self.final = self.final_selection.select(self)
            self._save()
            self._publish_records()
        self.runner.logger.info(
            f'search finished: {self.final["mode"]} selection -> {self.final["genotype"]}')
        self.runner.call_hook('after_train')
        return self.runner.model

    # ------------------------------------------------------------------ one generation
    def _estimate(self, genotypes: List[Genotype], lr: float,
                  drop_path: float) -> List[CandidateResult]:
        """Cut independent candidates out of the weight set and estimate them."""
        candidates = [self.model.extract(g, drop_path_rate=drop_path) for g in genotypes]
        return self.estimator.estimate(candidates, lr)

    def estimate_genotypes(self, genotypes: Sequence[Genotype],
                           generation: Optional[int] = None) -> List[CandidateResult]:
        """Estimate ``genotypes`` from the current weight set the way the search does (cut
        out, then the search's estimator: by default one epoch of training and validation),
        two by two as pairs, without writing back: the weight set is left as it was.

        Args:
            genotypes: The architectures to estimate.
            generation: 0-based generation whose lr and drop-path rate to use; defaults to
                the last (what the final re-evaluation uses).
        """
        generation = self.max_generations - 1 if generation is None else generation
        lr = search_lr(generation, self.max_generations, self.lr, self.lr_min,
                       self.reference_lr_quirk)
        drop_path = search_drop_path_rate(generation, self.max_generations,
                                          self.drop_path_rate)
        genotypes = list(genotypes)
        results: List[CandidateResult] = []
        for start in range(0, len(genotypes), 2):
            results += self._estimate(genotypes[start:start + 2], lr, drop_path)
        return results

    def _run_generation(self, generation: int) -> Dict[str, Any]:
        """Run the generation of 0-based index ``generation`` (its record, logs and files
        number generations from 1)."""
        start = time.perf_counter()
        lr = search_lr(generation, self.max_generations, self.lr, self.lr_min,
                       self.reference_lr_quirk)
        drop_path = search_drop_path_rate(generation, self.max_generations, self.drop_path_rate)
        genotypes = self.population.genotypes()
        diversity = self.population.diversity()
        pairs = broadcast_from_rank0(self.population.pairs(self.rng))
        teachers, skips, records = [], [], []
        progress = self._progress_bar(len(pairs))
        for number, (a, b) in enumerate(pairs):
            pair_start = time.perf_counter()
            members = [genotypes[a], genotypes[b]]
            results = self._estimate(members, lr, drop_path)
            teacher = broadcast_from_rank0(self.teacher.choose(members, results, self.budget))
            student = 1 - teacher
            skipped = not (results[0].finite or results[1].finite)
            self.model.write_back(pair_write_back(results[teacher].state,
                                                  results[student].state))
            teachers.append(teacher)
            skips.append(skipped)
            records.append(
                dict(members=[int(a), int(b)],
                     teacher=int((a, b)[teacher]),
                     skipped=skipped,
                     train_loss=[finite_or_none(r.train_loss) for r in results],
                     val_loss=[finite_or_none(r.val_loss) for r in results],
                     val_accuracy=[finite_or_none(r.val_accuracy) for r in results]))
            if self.budget is not None:
                self._record_budget(records[-1], members, generation + 1)
            self._log_pair(generation, number, len(pairs), (a, b), results, teacher, skipped,
                           time.perf_counter() - pair_start)
            self.publish_scalars(pair_scalars(records[-1]), 'search/pair/',
                                  generation * len(pairs) + number + 1)
            if progress is not None:
                progress.update()
        self.population_update.update(self.population, pairs, np.asarray(teachers),
                                      np.asarray(skips), self.rng)
        population, rng_state = broadcast_from_rank0(
            (self.population.state_dict(), self.rng.bit_generator.state))
        self.population.load_state_dict(population)
        self.rng.bit_generator.state = rng_state
        record = dict(
            generation=generation + 1,
            lr=lr,
            drop_path_rate=drop_path,
            diversity=diversity,
            pairs=records,
            population=[str(g) for g in genotypes],
            seconds=time.perf_counter() - start)
        if self.budget is not None and self.budget.bounds:
            record['feasible_share'] = float(np.mean([self.budget.feasible(g)
                                                      for g in genotypes]))
        self._log_generation(record)
        return record

    def _record_budget(self, record: Dict[str, Any], members: List[Genotype],
                       generation: Any) -> None:
        """Costs (and violations) of a pair's members into its record, its estimates into
        the archive."""
        record['costs'] = [self.budget.costs(g) for g in members]
        if self.budget.bounds:
            record['violation'] = [self.budget.violation(g) for g in members]
        for position, genotype in enumerate(members):
            self.budget.record(genotype, generation, record['val_loss'][position],
                               record['val_accuracy'][position])

    # ------------------------------------------------------------------ checkpoints
    def _state(self) -> Dict[str, Any]:
        return dict(
            meta=dict(kind=CHECKPOINT_KIND, format=CHECKPOINT_FORMAT, settings=self.settings,
                      resume_log=self.resume_log, device=self.device.type),
            generation=self._generation,
            population=to_tensors(self.population.state_dict()),
            weight_set=self.model.state_dict(),
            rng=dict(global_states=capture_rng_states(),
                     population=self.rng.bit_generator.state,
                     data=self.data_generator.get_state()),
            split=to_tensors(dict(self.split)),
            history=self.history,
            final=self.final,
            budget=None if self.budget is None else self.budget.state_dict())

    def _save(self) -> None:
        if is_main_process():
            self.checkpoints.save(self._state(), self._generation, self.final is not None)

    def _read_checkpoint(self, resume: Union[bool, str]
                         ) -> Tuple[Optional[str], Optional[Dict[str, Any]]]:
        """The checkpoint to resume from (:meth:`SearchCheckpointer.read`), checked against
        this search's settings (up to ``resume_changes``) before any work."""
        path, state = self.checkpoints.read(resume)
        recorded = dict(state['meta']['settings'])
        # Checkpoints written before population_update existed moved by slow-fast learning.
        recorded.setdefault('population_update', 'slow_fast')
        for key in ('constraints', 'constraint_model', 'objectives'):
            recorded.setdefault(key, None)
        current = dict(self.settings)
        if not self._seed_given:
            current['seed'] = self.seed = recorded['seed']
        if 'max_generations' in self.resume_changes and self.max_generations < state[
                'generation']:
            raise ValueError(f'resume: {path} has already run {state["generation"]} '
                             f'generations; max_generations={self.max_generations} cannot '
                             f'shorten it')
        changed = check_resume_settings(recorded, current, self.resume_changes, path)
        selection_changes = sorted(set(changed) & {'final_selection', 'teacher_criterion',
                                                   'teacher'})
        if (state['final'] is not None and selection_changes
                and self.max_generations == state['generation']):
            last = osp.join(osp.dirname(path),
                            f'search_generation_{state["generation"]:03d}.pth')
            raise ValueError(
                f'resume: {path} holds a finished search whose final selection was made with '
                f'the old {", ".join(selection_changes)}; to select again, resume from its '
                f'last generation checkpoint {last} (--resume PATH or train_cfg.resume=PATH) '
                f'with the same options')
        self.settings = current
        self.resume_log = list(state['meta']['resume_log'])
        if changed:
            diff = settings_diff(recorded, current)
            self.resume_log.append(
                dict(generation=state['generation'],
                     changed={key: list(values) for key, values in diff.items()}))
        return path, state

    def _keep_later_results(self) -> None:
        """Copy the work dir aside before a resume from an earlier checkpoint overwrites the
        later results (rank 0)."""
        kept = self.checkpoints.keep_later_results(self._resume_path) if is_main_process() else None
        if kept is not None:
            self.runner.logger.warning(
                f'resume: {self._resume_path} is earlier than the work dir\'s newest checkpoint '
                f'{kept[0]}; the later checkpoints and outputs were copied to {kept[1]} first')

    def _apply_checkpoint(self) -> None:
        """Continue from the checkpoint :meth:`_read_checkpoint` checked: weight set into the
        model's device, RNG states (CPU tensors) into their generators."""
        state, path = self._resume_state, self._resume_path
        self._resume_state = None
        split = to_arrays(state['split'])
        if not (np.array_equal(split['train'], self.split['train'])
                and np.array_equal(split['val'], self.split['val'])):
            self.split = dict(split)
            self.estimator.use_split(*build_search_split(
                self.dataset, split['train'], split['val'], self.device, self.data_placement))
        self.population.load_state_dict(to_arrays(state['population']))
        self.model.load_state_dict(state['weight_set'])
        restore_rng_states(state['rng']['global_states'])
        self.rng.bit_generator.state = state['rng']['population']
        self.data_generator.set_state(state['rng']['data'])
        self.history = state['history']
        self.final = state['final']
        if self.budget is not None and state.get('budget') is not None:
            self.budget.load_state_dict(state['budget'])
        self._generation = state['generation']
        self.checkpoints.restore(state)
        if self.final is not None and self._generation < self.max_generations:
            self.final = None  # max_generations was raised: the search goes on
        for entry in self.resume_log:
            if entry['generation'] == self._generation:
                self.runner.logger.warning(
                    f'resume: settings changed on purpose (resume_changes) after generation '
                    f'{self._generation}: {entry["changed"]}')
        self.runner.logger.info(f'resumed the search from {path} at generation '
                                f'{self._generation}/{self.max_generations}')

    # ------------------------------------------------------------------ logging
    def _progress_bar(self, total: int):
        if not sys.stdout.isatty():
            return None
        from mmengine.utils import ProgressBar
        return ProgressBar(total)

    def _log_pair(self, generation, number, total, members, results, teacher, skipped,
                  seconds) -> None:
        parts = [
            f'member {m}: loss {r.val_loss:.4f} acc {r.val_accuracy:.2f}%'
            for m, r in zip(members, results)
        ]
        outcome = ('both estimates are not finite: nothing written back, no update'
                   if skipped else f'teacher {members[teacher]}')
        for m, r in zip(members, results):
            if not r.finite and not skipped:
                outcome += f' (member {m} is not finite: it loses and writes nothing back)'
        self.runner.logger.info(
            f'generation {generation + 1}/{self.max_generations} pair {number + 1}/{total}: '
            f'{parts[0]} | {parts[1]} -> {outcome}; {seconds:.1f}s')

    def _log_generation(self, record: Dict[str, Any]) -> None:
        done = record['generation']
        summary = generation_summary(record)
        spent = sum(r['seconds'] for r in self.history) + record['seconds']
        remaining = spent / done * (self.max_generations - done)
        self.runner.logger.info(
            f'generation {done}/{self.max_generations} done: lr {summary["lr"]:.6f}, drop path '
            f'{summary["drop_path_rate"]:.3f}, diversity {summary["diversity"]:.4f}, best '
            f'teacher loss {summary["best_teacher_val_loss"]:.4f}, {summary["seconds"]:.1f}s, '
            f'ETA {timedelta(seconds=round(remaining))}' + (
                f', feasible {summary["feasible_share"]:.0%} of the population'
                if 'feasible_share' in summary else ''))
        self.publish_scalars(summary, 'search/', done)

    # ------------------------------------------------------------------ publishing
    def _publish_records(self) -> None:
        """Put the generation records and the final selection into the runner's MessageHub,
        where the hooks read them (:mod:`~mmrnas.engine.search_record`)."""
        self.runner.message_hub.update_info(HISTORY_KEY, self.history)
        self.runner.message_hub.update_info(FINAL_KEY, self.final)
        if self.budget is not None:
            self.runner.message_hub.update_info(ARCHIVE_KEY, self.budget.archive)

    def publish_scalars(self, scalars: Dict[str, Optional[float]], prefix: str,
                         step: int) -> None:
        """Finite numbers to the MessageHub and to the visualizer's backends (TensorBoard,
        W&B, ... as the config's ``visualizer`` lists them), keys prefixed, at ``step`` (the
        generation, or the pair counted over the whole search)."""
        finite = {f'{prefix}{key}': float(value) for key, value in scalars.items()
                  if value is not None and math.isfinite(value)}
        for key, value in finite.items():
            self.runner.message_hub.update_scalar(key, value)
        self.runner.visualizer.add_scalars(finite, step=step)
