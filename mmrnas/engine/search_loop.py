"""``RelativeNASSearchLoop``: the RelativeNAS search as an MMEngine training loop."""
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.registry import OPTIMIZERS
from mmengine.runner import BaseLoop

from mmrnas.datasets import build_search_split, split_indices
from mmrnas.registry import LOOPS
from mmrnas.search import Population, build_population_update, build_search_budget
from mmrnas.search.schedules import search_drop_path_rate, search_lr
from mmrnas.search.weight_set import pair_write_back
from mmrnas.structures import Genotype
from .data_parallel import broadcast_from_rank0
from .estimators import CandidateResult, build_search_estimator
from .final_selection import build_final_selection
from .hooks import SearchLoggerHook
from .search_checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_KIND,
    capture_rng_states,
    restore_rng_states,
    to_arrays,
    to_tensors,
)
from .search_checkpointer import SearchCheckpointer
from .search_inputs import SearchIterations, prepare_search_inputs
from .search_record import (
    ARCHIVE_KEY,
    FINAL_KEY,
    HISTORY_KEY,
    PAIR_KEY,
    finite_scalars,
    pair_record,
    pair_scalars,
)
from .search_settings import (
    check_search_arguments,
    parse_search_optim_wrapper,
    plain,
    resume_settings,
)
from .search_teacher import build_search_teacher
from .search_work_dir import check_new_search_work_dir

__all__ = ['RelativeNASSearchLoop']


@LOOPS.register_module()
class RelativeNASSearchLoop(BaseLoop):
    """Runs a RelativeNAS search: an epoch of the runner is a generation, an iteration a pair
    (docs/reference.md §3.1; every option is in docs/search_guide.md).

    Each generation pairs the population at random; each pair, in order, is cut out of the
    weight set (the runner's :class:`~mmrnas.models.RelativeNASSupernet`), estimated
    (``estimator``), its ``teacher`` chosen under the ``budget``, weights written back (§4.4);
    then the ``population_update`` moves the population. At the end the ``final_selection``
    picks the architecture. These five are registered parts (``TASK_UTILS``). Hooks see each
    pair (``before/after_train_iter``) and generation; every generation writes a checkpoint
    that continues the search exactly; rank 0's decisions are broadcast to all processes.

    Args:
        runner (Runner): The runner.
        dataloader (dict): The search data (:func:`parse_search_dataloader`).
        max_generations, population_size, lr_min, drop_path_rate: The paper's 50, 20, 0.001,
            0.3 by default; the lr follows a cosine from ``optim_wrapper.optimizer.lr``.
        reference_lr_quirk (bool): The reference's compounded cosine
            (:func:`~mmrnas.search.schedules.search_lr`). Defaults to False.
        estimator, teacher, population_update, final_selection, budget (dict, optional): The
            parts; defaults: the paper's one-epoch estimate, the loss criterion, the
            slow-fast update, re-evaluation, :class:`~mmrnas.search.NoBudget`.
        teacher_criterion, phi, precision, channels_last, cuda_graph, concurrent_pairs,
        constraints, constraint_model, objectives: Shorthands for the parts' arguments.
        seed (int, optional): Seed of the split, population, data and drop-path streams;
            defaults to the runner's.
        resume (bool | str, optional): Continue from ``work_dir``'s last checkpoint (True) or
            a path; None: the config's top-level ``resume``. False refuses a used work dir.
        resume_changes (Sequence[str]): Settings a resume may change on purpose.
        max_keep_checkpoints (int): Generation checkpoints kept. Defaults to 3.
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
                 budget: Optional[dict] = None,
                 constraints: Optional[dict] = None,
                 constraint_model: Optional[dict] = None,
                 objectives: Optional[Sequence[str]] = None) -> None:
        super().__init__(runner, None)
        check_search_arguments(max_generations, population_size, lr_min, drop_path_rate,
                               max_keep_checkpoints, resume_changes)
        self.max_generations = max_generations
        self.population_size = population_size
        self.lr_min = lr_min
        self.reference_lr_quirk = reference_lr_quirk
        self.drop_path_rate = drop_path_rate
        self.teacher = build_search_teacher(teacher, teacher_criterion)
        self.population_update = build_population_update(population_update, phi)
        self.final_selection = build_final_selection(final_selection, self.population_update,
                                                     population_update)
        self.budget = build_search_budget(budget, constraints, constraint_model, objectives)
        self.estimator = build_search_estimator(
            estimator, dict(precision=precision, channels_last=channels_last,
                            cuda_graph=cuda_graph, concurrent_pairs=concurrent_pairs))
        self.estimator.check_parts(self.teacher, self.budget)
        # A config without any seed gets a random one from the runner; a resume then takes
        # the checkpoint's seed instead of refusing a "changed" seed.
        self._seed_given = seed is not None or (runner.cfg.get('randomness')
                                                or {}).get('seed') is not None
        self.seed = runner.seed if seed is None else seed
        self.resume_changes = tuple(resume_changes)
        self.work_dir = runner.work_dir

        self.lr, optimizer, max_norm, norm_type = parse_search_optim_wrapper(
            runner.cfg.get('optim_wrapper') or {}, lambda kind: OPTIMIZERS.get(kind) is not None,
            runner.cfg.get('param_scheduler'))
        self.device = next(self.model.parameters()).device
        self.checkpoints = SearchCheckpointer(self.work_dir, max_keep_checkpoints,
                                              self.device.type)
        if resume is None:  # MMEngine's top-level key, as the Runner reads it
            resume = bool(runner.cfg.get('resume', False))
        #: The checkpoint a resumed search continues, else None.
        self.resumed_from: Optional[str] = None
        self._resume_state: Optional[Dict[str, Any]] = None
        if resume:
            self.resumed_from, self._resume_state = self.checkpoints.read(resume)
        inputs = prepare_search_inputs(runner, self.model, dataloader, self.device, self.seed)
        self.dataset, self.data_placement = inputs.dataset, inputs.placement
        self.dataloader = SearchIterations(self.dataset, self.pairs_per_generation)
        self.budget.setup(inputs.num_classes, inputs.channels,
                          (self._resume_state or {}).get('budget'))
        split_seed, population_seed, data_seed, drop_path_seed = np.random.SeedSequence(
            self.seed).spawn(4)
        self._drop_path_seed = int(drop_path_seed.generate_state(1, np.uint64)[0])
        self.split = dict(zip(('train', 'val'), split_indices(
            len(self.dataset), inputs.data['train_portion'], split_seed)))
        self.data_generator = torch.Generator(device=self.device)
        self.data_generator.manual_seed(int(data_seed.generate_state(1, np.uint64)[0]))
        self.estimator.setup(
            *build_search_split(self.dataset, self.split['train'], self.split['val'],
                                self.device, self.data_placement),
            generator=self.data_generator, optimizer=optimizer, max_grad_norm=max_norm,
            grad_norm_type=norm_type, **inputs.batches)
        self.rng = np.random.Generator(np.random.PCG64(population_seed))
        self.population = Population.random(population_size, self.rng)
        self.history: List[Dict[str, Any]] = []
        self.final: Optional[Dict[str, Any]] = None
        self._generation = self._pair = 0
        #: Everything that shapes the result; recorded in every checkpoint, checked on resume.
        self.settings: Dict[str, Any] = plain(
            dict(seed=self.seed, population_size=population_size,
                 max_generations=max_generations, lr=self.lr, lr_min=lr_min,
                 reference_lr_quirk=reference_lr_quirk, drop_path_rate=drop_path_rate,
                 **self.population_update.settings, **self.teacher.settings,
                 **self.final_selection.settings, optimizer=optimizer,
                 clip_grad=dict(max_norm=max_norm, norm_type=norm_type), **inputs.settings,
                 supernet=runner.cfg.model, **self.estimator.settings, **self.budget.settings))
        #: Settings changed on purpose by resumes: ``[{'generation': g, 'changed': {...}}]``.
        self.resume_log: List[Dict[str, Any]] = []
        if resume:
            self.settings, self.resume_log = resume_settings(
                self._resume_state, self.resumed_from, self.settings, self.resume_changes,
                self._seed_given, max_generations)
            self.seed = self.settings['seed']
        else:
            check_new_search_work_dir(self.work_dir)

    # ------------------------------------------------------------------ runner protocol
    @property
    def model(self):
        """The weight set (the runner's model, unwrapped)."""
        model = self.runner.model
        return getattr(model, 'module', model)

    @property
    def pairs_per_generation(self) -> int:
        return self.population_size // 2

    @property
    def max_epochs(self) -> int:
        return self.max_generations

    @property
    def max_iters(self) -> int:
        return self.max_generations * self.pairs_per_generation

    @property
    def epoch(self) -> int:
        """Completed generations."""
        return self._generation

    @property
    def iter(self) -> int:
        """Completed pairs, over the whole search."""
        return self._generation * self.pairs_per_generation + self._pair

    @property
    def best_genotype(self) -> Optional[Genotype]:
        """The final selection's architecture, once the search has finished."""
        return None if self.final is None else Genotype.from_string(self.final['genotype'])

    def run(self):
        """Run the remaining generations and the final selection."""
        if self._resume_state is not None:
            kept = (self.checkpoints.keep_later_results(self.resumed_from)
                    if is_main_process() else None)
            if kept is not None:
                self.runner.logger.warning(
                    f"resume: {self.resumed_from} is earlier than the work dir's newest "
                    f'checkpoint {kept[0]}; the later checkpoints and outputs were copied to '
                    f'{kept[1]} first')
            self.load_state_dict(self._resume_state)
            self._resume_state = None
        else:
            torch.manual_seed(self._drop_path_seed)
        self._publish_records()
        if not any(isinstance(hook, SearchLoggerHook) for hook in self.runner.hooks):
            self.runner.logger.warning(
                'no SearchLoggerHook: pairs, generations and resumes are neither logged nor '
                "published as scalars; add default_hooks.logger=dict(type='SearchLoggerHook')")
        self.runner.call_hook('before_train')
        while self._generation < self.max_generations:
            self.runner.call_hook('before_train_epoch')
            self.history.append(self._run_generation(self._generation))
            self._generation, self._pair = self._generation + 1, 0
            self._save()
            self._publish_records()
            self.runner.call_hook('after_train_epoch')
        if self.final is None:
            self.final = self.final_selection.select(self)
            self._save()
            self._publish_records()
        self.runner.call_hook('after_train')
        return self.runner.model

    # ------------------------------------------------------------------ one generation
    def _estimate(self, genotypes: List[Genotype], lr: float,
                  drop_path: float) -> List[CandidateResult]:
        """Cut independent candidates out of the weight set and estimate them."""
        candidates = [self.model.extract(g, drop_path_rate=drop_path) for g in genotypes]
        return self.estimator.estimate(candidates, lr)

    def _schedule(self, generation: int) -> Tuple[float, float]:
        """The lr and drop-path rate of the 0-based ``generation``."""
        return (search_lr(generation, self.max_generations, self.lr, self.lr_min,
                          self.reference_lr_quirk),
                search_drop_path_rate(generation, self.max_generations, self.drop_path_rate))

    def estimate_genotypes(self, genotypes: Sequence[Genotype],
                           generation: Optional[int] = None) -> List[CandidateResult]:
        """Estimate ``genotypes`` from the current weight set the way the search does, two by
        two as pairs, without writing back: the weight set is left as it was.

        Args:
            genotypes: The architectures to estimate.
            generation: 0-based generation whose lr and drop-path rate to use; defaults to
                the last (what the final re-evaluation uses).
        """
        lr, drop_path = self._schedule(self.max_generations - 1 if generation is None
                                       else generation)
        genotypes = list(genotypes)
        results: List[CandidateResult] = []
        for start in range(0, len(genotypes), 2):
            results += self._estimate(genotypes[start:start + 2], lr, drop_path)
        return results

    def _run_generation(self, generation: int) -> Dict[str, Any]:
        """Run the generation of 0-based index ``generation`` (its record, logs and files
        number generations from 1)."""
        start = time.perf_counter()
        lr, drop_path = self._schedule(generation)
        genotypes = self.population.genotypes()
        diversity = self.population.diversity()
        pairs = broadcast_from_rank0(self.population.pairs(self.rng))
        teachers, skips, records = [], [], []
        for number, (a, b) in enumerate(pairs):
            members = [genotypes[a], genotypes[b]]
            batch = dict(members=[int(a), int(b)], genotypes=members)
            self.runner.call_hook('before_train_iter', batch_idx=number, data_batch=batch)
            results = self._estimate(members, lr, drop_path)
            teacher = broadcast_from_rank0(self.teacher.choose(members, results, self.budget))
            skipped = not (results[0].finite or results[1].finite)
            self.model.write_back(pair_write_back(results[teacher].state,
                                                  results[1 - teacher].state))
            teachers.append(teacher)
            skips.append(skipped)
            records.append(pair_record((a, b), teacher, skipped, results))
            self.budget.annotate_pair(records[-1], members, generation + 1)
            self.runner.message_hub.update_info(PAIR_KEY, records[-1])
            self.runner.call_hook('after_train_iter', batch_idx=number, data_batch=batch,
                                  outputs=finite_scalars(pair_scalars(records[-1])))
            self._pair += 1
        self.population_update.update(self.population, pairs, np.asarray(teachers),
                                      np.asarray(skips), self.rng)
        population, rng_state = broadcast_from_rank0(
            (self.population.state_dict(), self.rng.bit_generator.state))
        self.population.load_state_dict(population)
        self.rng.bit_generator.state = rng_state
        record = dict(generation=generation + 1, lr=lr, drop_path_rate=drop_path,
                      diversity=diversity, pairs=records,
                      population=[str(g) for g in genotypes],
                      seconds=time.perf_counter() - start)
        self.budget.annotate_generation(record, genotypes)
        return record

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> Dict[str, Any]:
        """The search checkpoint: settings, population, weight set, every RNG state, split,
        history, final selection and the budget's archive."""
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
            budget=self.budget.state_dict())

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Continue from a checkpoint whose settings were checked (:func:`resume_settings`):
        weight set into the model's device, RNG states (CPU tensors) into their generators."""
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
        self.budget.load_state_dict(state.get('budget'))
        self._generation, self._pair = state['generation'], 0
        self.checkpoints.restore(state)
        if self.final is not None and self._generation < self.max_generations:
            self.final = None  # max_generations was raised: the search goes on

    def _save(self) -> None:
        if is_main_process():
            self.checkpoints.save(self.state_dict(), self._generation, self.final is not None)

    def _publish_records(self) -> None:
        """Put the generation records, the final selection and the archive into the runner's
        MessageHub, where the hooks read them (:mod:`~mmrnas.engine.search_record`)."""
        self.runner.message_hub.update_info(HISTORY_KEY, self.history)
        self.runner.message_hub.update_info(FINAL_KEY, self.final)
        self.runner.message_hub.update_info(ARCHIVE_KEY, self.budget.archive)
