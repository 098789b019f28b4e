"""Does the search beat chance on Fashion-MNIST? Power first, then estimators and methods.

Data: Fashion-MNIST (70,000 real 28x28 grey images), unpacked by
``tools/dataset_converters/fashion_mnist.py``. Of the 60,000 training images the first
``train_images`` (the proxy's) are the pool that searches split and stand-alone trainings learn
from; images 50,000-59,999 are the validation split that the calibration chooses on; the 10,000
test images are only ever tested on.

Stand-alone training is the code users run: ``tools/train.py``'s ``main`` (MMEngine's Runner)
on a proxy config that inherits ``configs/retrain/rnas_c16l8_1xb128-50e_fashion-mnist-28.py``
and sets the proxy's resolution, width, depth, epochs and pool (the generated configs are kept
in ``<work-dir>/configs``). Journal keys carry a digest of that config, of the code that
builds and trains the network and of the library versions, so a result of other code or another
recipe is never reused.

Stages (each resumable: finished trainings, searches and estimates are journaled, one JSON line
each, in ``--journal``, which is kept with the results; they are not redone):

1. ``calibration`` -- random cells (their own seed) trained with ``standalone_seeds`` seeds on
   every proxy in ``PROXIES``, cheapest first, validated on the validation split; the first
   proxy whose cells' mean accuracies spread (sample std) by more than twice the pooled
   seed-to-seed std is chosen (later proxies are not trained); if none is, the cheapest whose
   ratio is within one standard error of the largest (the JSON says which and why).
2. ``ranking`` -- random cells drawn with another seed than the calibration's, the library's
   RelativeNAS and DARTS_V2 and two weak cells (all max pooling, all skip connections), trained
   on the chosen proxy with ``standalone_seeds`` seeds and tested on the test set: the power
   report (binomial SE, seed std, cell spread and ratio, the noise ceiling -- Kendall tau
   between two seeds of the same cells -- and the smallest paired method difference the search
   seeds can resolve).
3. ``estimators`` -- the ranking cells scored from the final weight set of RelativeNAS seed 0
   by every estimator (the paper's one-epoch estimate; with BatchNorm recalibration;
   validated on the whole validation split; the epoch's training loss; parameters,
   mult-adds, SynFlow and NASWOT), each correlated with the stand-alone accuracies (Kendall
   tau, Spearman rho, top-5 overlap, bootstrap intervals over cells and training seeds).
4. ``methods`` -- ``tools/search.py --seeds`` with RelativeNAS's slow-fast update and with
   random redraws (the same estimates, write-back and final re-evaluation: equal cost),
   ``search_seeds`` seeds each on the pool; every found cell trained stand-alone and tested;
   the paired difference per seed with its 95 % interval, and each method's improvement over
   the mean random cell. An estimator that can drive a search and ranks clearly better than
   the paper's on the validation accuracies (its tau gain's interval above 0, Bonferroni over
   the candidates; the test set chooses nothing) gets the same comparison with it
   (``relativenas_<estimator>``, ``random_<estimator>``).

Usage::

    python benchmarks/search_quality_fashion_mnist.py [--data-root data/fashion_mnist]
        [--work-dir work_dirs/search_quality_fashion_mnist]
        [--until calibration|ranking|estimators|methods]
        [--out benchmarks/results/search_quality_fashion_mnist_cpu.json] [--max-new N] [--mini]
        [--plots-only]

``--max-new N`` ends a run (exit code 3) before its next new journal entry after N; running
the command again continues in a fresh process. ``--mini`` runs a miniature setting (tiny
pool and networks, one epoch, one generation) to check the logic. ``--plots-only`` draws the
plots again from the results at ``--out``.
"""
import argparse
import gc
import glob
import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import os.path as osp
import statistics
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from search_quality import (  # noqa: E402
    Journal,
    JournalLimit,
    commit,
    device_name,
    mean_std,
    random_genotypes,
    rank_correlations,
    save_figure,
    seed_spread,
)

from mmrnas.engine.search_work_dir import search_traces  # noqa: E402
from mmrnas.engine.seed_summary import seed_result  # noqa: E402
from mmrnas.structures import Genotype, get_genotype  # noqa: E402
from mmrnas.utils.fileio import atomic_write  # noqa: E402

RETRAIN_CONFIG = osp.join(ROOT, 'configs', 'retrain', 'rnas_c16l8_1xb128-50e_fashion-mnist-28.py')
SEARCH_CONFIG = osp.join(ROOT, 'configs', 'rnas_fashion-mnist.py')
RESULTS = osp.join(ROOT, 'benchmarks', 'results')
#: Files whose content decides what a stand-alone training computes (with the proxy config).
TRAINING_CODE = ('tools/train.py', 'mmrnas/utils/cli.py', 'mmrnas/models/backbones/*.py',
                 'mmrnas/models/cells/*.py', 'mmrnas/models/ops/*.py',
                 'mmrnas/models/heads/*.py', 'mmrnas/models/utils/*.py',
                 'mmrnas/engine/hooks/drop_path_schedule_hook.py', 'mmrnas/structures/*.py')
#: Files whose content decides what a search and an estimate compute (with the config).
SEARCH_CODE = ('tools/search.py', 'mmrnas/search/*.py', 'mmrnas/engine/*.py',
               *(f'mmrnas/engine/estimators/{name}.py' for name in (
                   'candidate_trainer', 'one_epoch_estimator', 'search_estimator',
                   'concurrent', 'cuda_graph')), 'mmrnas/datasets/*.py',
               'mmrnas/models/supernets/*.py', 'mmrnas/models/cells/*.py',
               'mmrnas/models/ops/*.py', 'mmrnas/models/utils/*.py', 'mmrnas/structures/*.py',
               'configs/_base_/search_runtime.py')
#: The estimators besides the default, which a search with one of them also runs.
ESTIMATOR_CODE = tuple(f'mmrnas/engine/estimators/{name}.py' for name in (
    'recalibrated_bn_estimator', 'training_free_estimator', 'zero_cost'))
#: What decides the ranking's estimates.
ESTIMATE_CODE = SEARCH_CODE + ESTIMATOR_CODE + ('benchmarks/search_quality_fashion_mnist.py', )
METHODS = dict(relativenas='slow_fast', random='random')
#: The estimate the search runs by default (the paper's), by its name in the ranking.
DEFAULT_ESTIMATOR = 'one_epoch'
#: Estimators of the ranking that can drive a search: ``train_cfg.estimator`` of each.
SEARCH_ESTIMATORS = dict(
    recalibrated_bn="dict(type='RecalibratedBNEstimator', batches={recalibration_batches})",
    synflow_init="dict(type='TrainingFreeEstimator', score='synflow', batch_size={score_batch})",
    naswot_init="dict(type='TrainingFreeEstimator', score='naswot', batch_size={score_batch})")
LIBRARIES = ('torch', 'mmengine', 'mmcv', 'mmpretrain', 'numpy')
LIBRARY_GENOTYPES = ('RelativeNAS', 'DARTS_V2')


def uniform_cell(op: str) -> str:
    """A cell whose eight edges are all ``op`` (inputs 0 and 1 of every node)."""
    edges = [(op, 0), (op, 1)] * 4
    return str(Genotype(edges, range(2, 6), edges, range(2, 6)))


WEAK_CELLS = dict(all_max_pooling=uniform_cell('max_pool_3x3'),
                  all_skip=uniform_cell('skip_connect'))
#: Seeds of the random cells' streams: the ranking's differ from the calibration's.
CALIBRATION_CELL_SEED, RANKING_CELL_SEED = 2026, 7

#: Stand-alone proxies tried by the calibration, in order of cost.
PROXIES = (
    dict(name='c4l5_16px_10k_6e', size=16, base_channels=4, num_cells=5, train_images=10000,
         epochs=6),
    dict(name='c4l5_16px_10k_12e', size=16, base_channels=4, num_cells=5, train_images=10000,
         epochs=12),
)
#: The searches: ``configs/rnas_fashion-mnist.py`` at the proxy's network, resolution and pool
#: (split half / half), with the quickstart's population, generations and drop path.
SEARCH = dict(population_size=8, max_generations=5, drop_path_rate=0.1, batch_size=256)
FULL = dict(proxies=PROXIES, validation=(50000, 60000), calibration_cells=8,
            ranking_random=28, standalone_seeds=2, search_seeds=10, search=SEARCH,
            estimate_orders=2, recalibration_batches=20, score_batch=128, bootstrap=2000)
MINI = dict(proxies=(dict(name='mini', size=8, base_channels=2, num_cells=3, train_images=40,
                          epochs=1), ),
            validation=(40, 60), calibration_cells=2, ranking_random=2, standalone_seeds=2,
            search_seeds=2, search=dict(population_size=2, max_generations=1,
                                        drop_path_rate=0.1, batch_size=8),
            estimate_orders=2, recalibration_batches=2, score_batch=8, bootstrap=50)


# ---------------------------------------------------------------------------- statistics
def binomial_se(accuracy: float, images: int) -> float:
    """Standard error (points) of an accuracy (%) measured on ``images`` images."""
    p = accuracy / 100
    return 100 * math.sqrt(p * (1 - p) / images)


def resolvable_difference(std: float, pairs: int) -> float:
    """Half width of the 95 % t interval of a mean paired difference over ``pairs`` pairs whose
    differences have sample std ``std``: the smallest difference the pairs resolve."""
    from scipy.stats import t
    return float(t.ppf(0.975, pairs - 1) * std / math.sqrt(pairs))


def power_report(accuracies: Dict[str, List[float]], random_cells: Sequence[str], images: int,
                 search_seeds: int, resamples: int) -> Dict[str, Any]:
    """Power numbers of the ranking cells' stand-alone test accuracies ``{cell: [per seed]}``.

    The noise ceiling is Kendall tau between the cells' first and second training seed (one
    seed against one; the mean of two seeds, which the estimators are compared with, repeats
    better). The resolvable difference is the half width of the 95 % interval of a paired
    mean difference (about 50 % power at that size), predicted before any search: two
    methods that each found a random cell (its mean over the seeds, whose std ``spread``
    already holds the seed noise) differ by ``sqrt(2) * spread`` per pair."""
    spread = seed_spread({cell: accuracies[cell] for cell in random_cells})
    everything = [value for values in accuracies.values() for value in values]
    ceiling = rank_correlations([values[0] for values in accuracies.values()],
                                [values[1] for values in accuracies.values()], resamples)
    difference_std = math.sqrt(2) * spread['spread_std']
    return dict(
        binomial_se=binomial_se(statistics.fmean(everything), images),
        seed_std=spread['seed_std'], cell_spread=spread['spread_std'],
        cell_range=spread['spread_range'], ratio=spread['ratio'],
        criterion_met=spread['criterion_met'],
        noise_ceiling_tau=ceiling['kendall_tau'],
        noise_ceiling_tau_interval=ceiling['kendall_tau_interval'],
        noise_ceiling_basis='Kendall tau between training seed 0 and seed 1 of every ranking '
        'cell',
        resolvable_difference=resolvable_difference(difference_std, search_seeds),
        resolvable_difference_basis=f'half width of the 95 % t interval of the mean paired '
        f'difference, predicted for {search_seeds} search seeds whose cells are as spread as '
        f'random cells (difference std sqrt(2) x cell spread = {difference_std:.3f})')


# ---------------------------------------------------------------------------- stand-alone
def load_tool(name: str):
    """``tools/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f'mmrnas_{name}_tool',
                                                  osp.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def proxy_config(proxy: Dict[str, Any], data_root: str, validation: Sequence[int],
                 recipe: str = RETRAIN_CONFIG) -> str:
    """The text of a retraining config for ``proxy``: the ``recipe`` (a path) at the
    proxy's resolution, width, depth, epochs and pool; validation on images
    ``validation[0]..validation[1] - 1`` of the training files, test on the test files."""
    size, epochs = proxy['size'], proxy['epochs']
    resize = [] if size == 28 else [f"dict(type='Resize', scale=({size}, {size}))"]
    train = resize + [
        f"dict(type='RandomCrop', crop_size={size}, padding={max(1, size // 14)})",
        "dict(type='RandomFlip', prob=0.5, direction='horizontal')",
        f"dict(type='Cutout', shape={size // 2}, pad_val=73, prob=1.0)", "dict(type='PackInputs')"
    ]
    test = resize + ["dict(type='PackInputs')"]
    loader = "num_workers=0, persistent_workers=False"
    return '\n'.join([
        f'# {proxy["name"]}: generated by benchmarks/search_quality_fashion_mnist.py',
        f'_base_ = [{recipe!r}]',
        f'model = dict(backbone=dict(base_channels={proxy["base_channels"]}, '
        f'num_cells={proxy["num_cells"]}), head=dict(in_channels={16 * proxy["base_channels"]}))',
        f'train_pipeline = [{", ".join(train)}]',
        f'test_pipeline = [{", ".join(test)}]',
        f'train_dataloader = dict({loader}, dataset=dict(data_root={data_root!r}, '
        f'indices={proxy["train_images"]}, pipeline=train_pipeline))',
        f'val_dataloader = dict({loader}, dataset=dict(data_root={data_root!r}, split="train", '
        f'test_mode=False, indices=list(range({validation[0]}, {validation[1]})), '
        f'pipeline=test_pipeline))',
        f'test_dataloader = dict({loader}, dataset=dict(data_root={data_root!r}, split="test", '
        f'test_mode=True, pipeline=test_pipeline))',
        f'param_scheduler = dict(T_max={epochs}, end={epochs})',
        f'train_cfg = dict(max_epochs={epochs}, val_interval={epochs})',
        "default_hooks = dict(logger=dict(interval=1000), checkpoint=None)", ''
    ])


def library_version(name: str) -> str:
    """The installed version of a library: its distribution's (torch without the build's
    ``+cu...`` suffix, so CPU and GPU wheels of a release share results), else its module's
    (mmcv installed as ``mmcv-lite``)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return importlib.import_module(name).__version__


def code_digest(config_text: str, recipe: str, code: Sequence[str]) -> str:
    """Digest of a generated config (written without the paths of the data and the recipe,
    so that the journal moves with the repository), its recipe, the code that runs it (glob
    patterns under the repository) and the libraries."""
    digest = hashlib.sha256(config_text.encode())
    paths = [recipe] + sorted(path for pattern in code
                              for path in glob.glob(osp.join(ROOT, pattern)))
    for path in paths:
        digest.update(osp.relpath(path, ROOT).encode())
        with open(path, 'rb') as f:
            digest.update(f.read())
    for library in LIBRARIES:
        digest.update(f'{library}=={library_version(library)}'.encode())
    return digest.hexdigest()[:12]


class StandAlone:
    """Trains cells from scratch with ``tools/train.py`` on a proxy config; journals the
    validation and test accuracies under keys that name the proxy, its code digest, the cell
    and the seed."""

    def __init__(self, proxy: Dict[str, Any], data_root: str, validation: Sequence[int],
                 work_dir: str, journal: Journal):
        text = proxy_config(proxy, osp.abspath(data_root), validation)
        self.proxy = proxy
        self.digest = code_digest(proxy_config(proxy, 'DATA', validation, 'RECIPE'),
                                  RETRAIN_CONFIG, TRAINING_CODE)
        self.config = osp.join(work_dir, 'configs', f'{proxy["name"]}.py')
        os.makedirs(osp.dirname(self.config), exist_ok=True)
        atomic_write(self.config, text)
        self.runs = osp.join(work_dir, 'runs', proxy['name'])
        self.journal = journal
        self.validation_images = validation[1] - validation[0]
        self._train_tool = None

    def result(self, cell: str, seed: int) -> Dict[str, float]:
        """The journaled training of ``cell`` with ``seed`` (trained now if missing)."""
        return self.journal.get(f'standalone/{self.proxy["name"]}/{self.digest}/{cell}/{seed}',
                                lambda: self.train(cell, seed))

    def results(self, cell: str, seeds: int) -> List[Dict[str, float]]:
        return [self.result(cell, seed) for seed in range(seeds)]

    def train(self, cell: str, seed: int) -> Dict[str, float]:
        if self._train_tool is None:
            self._train_tool = load_tool('train')
        name = f'{hashlib.sha256(cell.encode()).hexdigest()[:10]}_seed{seed}'
        # MMEngine's Runner only ever turns this on (a search's does): as the recipe says
        torch.backends.cudnn.benchmark = False
        start = time.perf_counter()
        runner = self._train_tool.main([
            self.config, '--work-dir', osp.join(self.runs, name), '--cfg-options',
            f'genotype={cell}', f'randomness.seed={seed}', f'experiment_name={name}'
        ])
        val = runner.message_hub.get_scalar('val/accuracy/top1').current()
        test = runner.test()['accuracy/top1']
        params = sum(p.numel() for p in runner.model.parameters())
        seconds = time.perf_counter() - start
        del runner
        gc.collect()
        return dict(val_accuracy=float(val), test_accuracy=float(test), params=params,
                    seconds=seconds)


# ---------------------------------------------------------------------------- stages
def calibrate(setting: Dict[str, Any], data_root: str, work_dir: str,
              journal: Journal) -> Dict[str, Any]:
    """Stage 1: the first proxy (cheapest first) whose random cells' validation accuracies
    spread by more than twice the seed std; proxies after it are not trained."""
    cells = random_genotypes(setting['calibration_cells'], seed=CALIBRATION_CELL_SEED)
    report, chosen = [], None
    for proxy in setting['proxies']:
        standalone = StandAlone(proxy, data_root, setting['validation'], work_dir, journal)
        accuracies = {
            cell: [run['val_accuracy']
                   for run in standalone.results(cell, setting['standalone_seeds'])]
            for cell in cells
        }
        spread = dict(proxy, **seed_spread(accuracies), accuracies=accuracies,
                      seconds_per_training=statistics.fmean(
                          run['seconds'] for cell in cells
                          for run in standalone.results(cell, setting['standalone_seeds'])))
        report.append(spread)
        print(f'calibration {proxy["name"]}: seed std {spread["seed_std"]:.2f}, spread std '
              f'{spread["spread_std"]:.2f} (ratio {spread["ratio"]:.2f}), range '
              f'{spread["spread_range"]:.2f}', flush=True)
        if spread['criterion_met']:
            chosen = spread
            break
    if chosen is None:
        chosen = cheapest_within_noise(report, setting['calibration_cells'],
                                       setting['standalone_seeds'])
    return dict(tried=report, chosen=chosen['name'], criterion_met=chosen['criterion_met'],
                cells=len(cells), cell_seed=CALIBRATION_CELL_SEED,
                seeds=setting['standalone_seeds'],
                scored_on=f'validation split: training images {setting["validation"][0]}-'
                f'{setting["validation"][1] - 1}',
                criterion='sample std of the cells\' mean validation accuracies > 2 x pooled '
                'seed-to-seed std',
                rule='the first proxy (cheapest first) that meets the criterion; if none does, '
                'the cheapest whose ratio is within one standard error of the largest ratio '
                '(a costlier proxy that misses the criterion too buys no power worth its cost)')


def ratio_standard_error(ratio: float, cells: int, seeds: int) -> float:
    """Approximate standard error of a calibration ratio (spread std / pooled seed std) from
    ``cells`` cells with ``seeds`` seeds each: the relative errors of the two standard
    deviations (``1 / sqrt(2 df)``, df ``cells - 1`` and ``cells * (seeds - 1)``) combined."""
    return ratio * math.sqrt(1 / (2 * (cells - 1)) + 1 / (2 * cells * (seeds - 1)))


def cheapest_within_noise(report: List[Dict[str, Any]], cells: int,
                          seeds: int) -> Dict[str, Any]:
    """The first (cheapest) proxy of ``report`` whose ratio is within one standard error of
    the largest ratio."""
    best = max(report, key=lambda entry: entry['ratio'])
    margin = ratio_standard_error(best['ratio'], cells, seeds)
    return next((entry for entry in report if entry['ratio'] >= best['ratio'] - margin), best)


def ranking_cells(setting: Dict[str, Any]) -> Dict[str, str]:
    """``{cell: kind}`` of the ranking: random cells (their own seed), the library's cells and
    the weak cells."""
    kinds = {cell: 'random'
             for cell in random_genotypes(setting['ranking_random'], seed=RANKING_CELL_SEED)}
    kinds.update({str(get_genotype(name)): name for name in LIBRARY_GENOTYPES})
    kinds.update({cell: name for name, cell in WEAK_CELLS.items()})
    return kinds


def rank_standalone(setting: Dict[str, Any], standalone: StandAlone,
                    test_images: int) -> Dict[str, Any]:
    """Stage 2: the ranking cells trained stand-alone and tested; the power report."""
    kinds = ranking_cells(setting)
    runs = {cell: standalone.results(cell, setting['standalone_seeds']) for cell in kinds}
    accuracies = {cell: [run['test_accuracy'] for run in runs[cell]] for cell in kinds}
    power = power_report(accuracies, [cell for cell, kind in kinds.items() if kind == 'random'],
                         test_images, setting['search_seeds'], setting['bootstrap'])
    cells = [dict(genotype=cell, kind=kind, params=runs[cell][0]['params'],
                  standalone_test_accuracy=accuracies[cell],
                  standalone_val_accuracy=[run['val_accuracy'] for run in runs[cell]],
                  standalone_mean=statistics.fmean(accuracies[cell]))
             for cell, kind in kinds.items()]
    references = {kind: mean_std(accuracies[cell]) for cell, kind in kinds.items()
                  if kind != 'random'}
    references['random_cell'] = mean_std(
        [statistics.fmean(accuracies[cell]) for cell, kind in kinds.items() if kind == 'random'])
    return dict(power=power, cells=cells, references=references, cell_seed=RANKING_CELL_SEED)


# ---------------------------------------------------------------------------- searches
def search_config(proxy: Dict[str, Any], search: Dict[str, Any], data_root: str,
                  indices: str, recipe: str = SEARCH_CONFIG, estimator: str = '') -> str:
    """The text of a search config: ``recipe`` with the proxy's network and resolution, the
    images ``indices`` (a Python expression) of the training files, ``search``'s population,
    generations, drop path and batch size, and optionally an ``estimator`` (a dict's text)."""
    size = proxy['size']
    pipeline = ([] if size == 28 else [f"dict(type='Resize', scale=({size}, {size}))"]) + [
        "dict(type='PackInputs')"]
    return '\n'.join([
        '# generated by benchmarks/search_quality_fashion_mnist.py',
        f'_base_ = [{recipe!r}]',
        f'model = dict(base_channels={proxy["base_channels"]}, num_cells={proxy["num_cells"]})',
        f'train_dataloader = dict(batch_size={search["batch_size"]}, dataset=dict('
        f'data_root={data_root!r}, indices={indices}, pipeline=[{", ".join(pipeline)}]), '
        f'augment=dict(crop_padding={max(1, round(4 * size / 28))}, flip=True, '
        f'cutout={size // 2}))',
        f'train_cfg = dict(max_generations={search["max_generations"]}, '
        f'population_size={search["population_size"]}, '
        f'drop_path_rate={search["drop_path_rate"]}' +
        (f', estimator={estimator})' if estimator else ')'), ''
    ])


class Searches:
    """``tools/search.py --seeds`` on the pool with RelativeNAS's update or random redraws,
    with the default estimator or ``estimator`` (a dict's text); each seed's result journaled
    under a digest of the config and the search code."""

    def __init__(self, setting: Dict[str, Any], proxy: Dict[str, Any], data_root: str,
                 work_dir: str, journal: Journal, estimator: str = ''):
        self.setting, self.proxy, self.journal = setting, proxy, journal
        self.work_dir = work_dir
        pool = str(proxy['train_images'])
        text = search_config(proxy, setting['search'], 'DATA', pool, 'RECIPE', estimator)
        self.digest = code_digest(text, SEARCH_CONFIG,
                                  SEARCH_CODE + (ESTIMATOR_CODE if estimator else ()))
        self.config = osp.join(work_dir, 'configs', f'search_{self.digest}.py')
        atomic_write(self.config, search_config(proxy, setting['search'],
                                                osp.abspath(data_root), pool,
                                                estimator=estimator))
        self._tool = None

    @property
    def tool(self):
        if self._tool is None:
            self._tool = load_tool('search')
        return self._tool

    def method_dir(self, method: str) -> str:
        """Where ``method``'s seeds search: named by the digest, so that a search of other
        code or another config is never resumed or read."""
        return osp.join(self.work_dir, 'searches', self.digest, method)

    def run(self, method: str, seeds: Sequence[int]) -> None:
        """Run (or resume) ``seeds`` of ``method`` in its work dir."""
        work_dir = self.method_dir(method)
        resume = ['--resume'] if search_traces(work_dir) else []
        code = self.tool.main([self.config, '--work-dir', work_dir, *resume, '--seeds',
                               *map(str, seeds), '--cfg-options',
                               f'train_cfg.population_update={METHODS[method]}'])
        if code != 0:
            raise RuntimeError(f'tools/search.py exited with {code} in {work_dir}')

    def result(self, method: str, seed: int) -> Dict[str, Any]:
        """The journaled result of one seed (all seeds of the method searched if missing)."""
        key = f'search/{method}/{self.digest}/{seed}'
        if key not in self.journal.entries:
            self.journal.check_limit()  # before hours of searching, not after
            seeds = range(self.setting['search_seeds'])
            self.run(method, seeds)
            self.journal.new += 1  # the searches count as one new entry
            for other in seeds:
                self.journal.get(f'search/{method}/{self.digest}/{other}',
                                 lambda s=other: self._read(method, s), counted=False)
        return self.journal.entries[key]

    def _read(self, method: str, seed: int) -> Dict[str, Any]:
        work_dir = osp.join(self.method_dir(method), f'seed_{seed}')
        with open(osp.join(work_dir, 'final_selection.json')) as f:
            final = json.load(f)
        with open(osp.join(work_dir, 'history.jsonl')) as f:
            seconds = sum(json.loads(line)['seconds'] for line in f)
        result = seed_result(seed, work_dir, final)
        return dict(genotype=result['genotype'], estimate_val_loss=result['val_loss'],
                    estimate_val_accuracy=result['val_accuracy'], search_seconds=seconds)

    def final_checkpoint(self, method: str, seed: int) -> str:
        """The final checkpoint of a seed, searched again (same numbers) if this work dir
        lacks it."""
        path = osp.join(self.method_dir(method), f'seed_{seed}', 'checkpoints',
                        'search_final.pth')
        if not osp.isfile(path):
            self.run(method, [seed])
        return path


# ---------------------------------------------------------------------------- estimators
def estimator_scores(setting: Dict[str, Any], searches: Searches, data_root: str,
                     cells: Sequence[str], digest: str) -> Dict[str, Any]:
    """Every estimator's score of ``cells`` (higher is better), from the final weight set of
    RelativeNAS seed 0 (training-free scores also from the initial one), on its split; and
    which weight set that was (the final genotype of that search).

    (a) ``one_epoch``: minus the validation loss of the paper's estimate (the teacher's
    criterion), once per data order (the data generator and PyTorch's seeded with it);
    ``one_epoch_accuracy``: its validation accuracy; (b) ``recalibrated_bn``:
    :class:`~mmrnas.engine.estimators.RecalibratedBNEstimator`; (c) ``whole_validation``: the
    paper's estimate validated on the whole validation split instead of the search's
    validation half; (d) ``train_loss``: minus the training loss of the estimate's epoch;
    (e) ``params``, ``mult_adds`` (the search network's) and ``synflow``, ``naswot``
    (:mod:`mmrnas.engine.estimators.zero_cost`) at the final weights and, as
    :class:`~mmrnas.engine.estimators.TrainingFreeEstimator` scores them in a search (at the
    initial weights the loop builds with seed 0, on the images of seed 0's training half),
    ``*_init``."""
    from mmrnas.datasets import build_search_split
    from mmrnas.engine import load_search_checkpoint
    from mmrnas.engine.estimators import ZERO_COST_SCORES, TrainingFreeEstimator
    from mmrnas.engine.search_checkpoint import to_arrays
    from mmrnas.search import GenotypeCost
    proxy, pool = searches.proxy, searches.proxy['train_images']
    low, high = setting['validation']
    state = load_search_checkpoint(searches.final_checkpoint('relativenas', 0))
    split = to_arrays(state['split'])
    whole = np.arange(pool, pool + high - low)
    genotypes = [Genotype.from_string(cell) for cell in cells]
    scores: Dict[str, List[float]] = {}
    for name, estimator in (('one_epoch', ''), ('recalibrated_bn', (
            f"dict(type='RecalibratedBNEstimator', "
            f"batches={setting['recalibration_batches']})"))):
        config = osp.join(searches.work_dir, 'configs', f'estimate_{name}.py')
        atomic_write(config, search_config(
            proxy, setting['search'], osp.abspath(data_root),
            f'list(range({pool})) + list(range({low}, {high}))', estimator=estimator))
        tool = searches.tool
        args = tool.parse_args([config, '--work-dir',
                                osp.join(searches.work_dir, 'estimates', digest, name)])
        loop = tool.prepare(tool.seed_config(tool.load_search_config(args), args, 0,
                                             False)).train_loop
        if name == 'one_epoch':  # training-free scores at the initial weights, as the search
            train_half = build_search_split(loop.dataset, split['train'], split['val'],
                                            loop.device, loop.data_placement)[0]
            for score in ZERO_COST_SCORES:
                scorer = TrainingFreeEstimator(score, setting['score_batch'])
                scorer.use_split(train_half, None)
                scores[f'{score}_init'] = [-result.val_loss for result in scorer.estimate(
                    [loop.model.extract(g) for g in genotypes], lr=0.0)]
            inputs = scorer.inputs()
        loop.model.load_state_dict(state['weight_set'])
        validations = dict(search=split['val'], whole=whole) if name == 'one_epoch' else dict(
            search=split['val'])
        for validation, val_indices in validations.items():
            loop.estimator.use_split(*build_search_split(
                loop.dataset, split['train'], val_indices, loop.device, loop.data_placement))
            for order in range(setting['estimate_orders'] if validation == 'search' else 1):
                loop.data_generator.manual_seed(order)
                torch.manual_seed(order)  # drop-path masks
                results = loop.estimate_genotypes(genotypes)
                key = name if validation == 'search' else 'whole_validation'
                suffix = f'_order{order}' if order else ''
                scores[key + suffix] = [-r.val_loss for r in results]
                if name == 'one_epoch' and validation == 'search':
                    scores['one_epoch_accuracy' + suffix] = [r.val_accuracy for r in results]
                    scores['train_loss' + suffix] = [-r.train_loss for r in results]
        if name == 'one_epoch':
            for score, function in ZERO_COST_SCORES.items():
                scores[score] = [function(loop.model.extract(g), inputs) for g in genotypes]
    cost = GenotypeCost(proxy['base_channels'], proxy['num_cells'], 'cifar', 10,
                        proxy['size'], in_channels=1)
    scores['params'] = [float(cost(g)['params']) for g in genotypes]
    scores['mult_adds'] = [float(cost(g)['mult_adds']) for g in genotypes]
    return dict(scores=scores, weight_set=dict(search='relativenas seed 0',
                                               final_genotype=state['final']['genotype']))


def two_level_correlations(scores: Sequence[float], standalone: Sequence[Sequence[float]],
                           resamples: int, seed: int = 0,
                           baseline: Optional[Sequence[float]] = None,
                           level: float = 0.95) -> Dict[str, Any]:
    """Kendall tau, Spearman rho and top-5 overlap of ``scores`` with the stand-alone mean of
    each cell, with ``level`` bootstrap intervals that resample cells and, within each, its
    stand-alone seeds (with replacement); with a ``baseline`` estimator's scores of the same
    cells also the gain in tau over it, with its interval from the same resamples."""
    from scipy.stats import kendalltau, spearmanr
    scores = np.asarray(scores, dtype=float)
    against = None if baseline is None else np.asarray(baseline, dtype=float)
    runs = np.asarray(standalone, dtype=float)
    rng = np.random.default_rng(seed)

    def measures(rows, y):
        x = scores[rows]
        top = min(5, len(x))
        overlap = len(set(np.argsort(-x)[:top]) & set(np.argsort(-y)[:top])) / top
        tau = kendalltau(x, y)[0]
        gain = math.nan if against is None else tau - kendalltau(against[rows], y)[0]
        return tau, spearmanr(x, y)[0], overlap, gain

    point = measures(np.arange(len(scores)), runs.mean(axis=1))
    samples = []
    for _ in range(resamples):
        rows = rng.integers(0, len(scores), len(scores))
        seeds = rng.integers(0, runs.shape[1], (len(rows), runs.shape[1]))
        y = runs[rows[:, None], seeds].mean(axis=1)
        if np.ptp(scores[rows]) > 0 and np.ptp(y) > 0:
            samples.append(measures(rows, y))
    samples = np.asarray(samples).reshape(-1, 4)

    def interval(column):
        if not len(samples):  # every resample had a constant side
            return None
        tail = 50 * (1 - level)
        return [float(np.nanpercentile(samples[:, column], tail)),
                float(np.nanpercentile(samples[:, column], 100 - tail))]

    result = dict(kendall_tau=float(point[0]), kendall_tau_interval=interval(0),
                  spearman_rho=float(point[1]), spearman_rho_interval=interval(1),
                  top5_overlap=float(point[2]), top5_overlap_interval=interval(2),
                  bootstrap_resamples=len(samples))
    if against is not None:
        result.update(tau_gain=float(point[3]), tau_gain_interval=interval(3))
    return result


# ---------------------------------------------------------------------------- methods
def paired_difference(first: Sequence[float], second: Sequence[float]) -> Dict[str, Any]:
    """Mean of ``first - second`` (paired) with its 95 % t interval."""
    differences = [a - b for a, b in zip(first, second)]
    mean = statistics.fmean(differences)
    half = resolvable_difference(statistics.stdev(differences), len(differences))
    return dict(mean=mean, interval=[mean - half, mean + half], pairs=len(differences),
                std=statistics.stdev(differences))


def compare_methods(setting: Dict[str, Any], variants: Dict[str, Searches],
                    standalone: StandAlone, random_cell_mean: float) -> Dict[str, Any]:
    """Stage 4: every method's found cells retrained stand-alone, for each estimator variant
    (``{suffix: searches}``: ``''`` for the default estimate); methods named
    ``<method><suffix>``."""
    methods = {}
    for suffix, searches in variants.items():
        for method in METHODS:
            seeds = []
            for seed in range(setting['search_seeds']):
                found = searches.result(method, seed)
                tests = [run['test_accuracy']
                         for run in standalone.results(found['genotype'],
                                                       setting['standalone_seeds'])]
                seeds.append(dict(found, seed=seed, test_accuracy=statistics.fmean(tests),
                                  test_accuracy_per_training_seed=tests))
            tests = [seed['test_accuracy'] for seed in seeds]
            methods[method + suffix] = dict(
                seeds=seeds, **mean_std(tests),
                distinct_genotypes=len({seed['genotype'] for seed in seeds}),
                improvement_over_mean_random_cell=statistics.fmean(tests) - random_cell_mean)
    return methods


# ---------------------------------------------------------------------------- main
def data_identity(data_root: str) -> Dict[str, str]:
    """SHA-256 of the four unpacked files (a journal belongs to one data set)."""
    identity = {}
    for name in sorted(os.listdir(data_root)):
        if name.endswith('-ubyte'):
            with open(osp.join(data_root, name), 'rb') as f:
                identity[name] = hashlib.sha256(f.read()).hexdigest()
    return identity


def test_images(data_root: str) -> int:
    """Number of images in the test file (its idx header)."""
    with open(osp.join(data_root, 't10k-labels-idx1-ubyte'), 'rb') as f:
        return int.from_bytes(f.read(8)[4:], 'big')


STAGES = ('calibration', 'ranking', 'estimators', 'methods')


def rank_estimators(scores: Dict[str, List[float]], cells: List[Dict[str, Any]],
                    resamples: int) -> Dict[str, Any]:
    """Every estimator's correlation with the stand-alone test accuracies (repeat data orders
    aside: they measure how far an estimate repeats); for the estimators that can drive a
    search also with the validation accuracies, which choose among them
    (:func:`clearly_better`: the test set chooses nothing), at intervals of level
    ``1 - 0.05 / len(SEARCH_ESTIMATORS)`` (Bonferroni: the chance that any of them is taken
    by accident stays under 5 %)."""
    standalone = [cell['standalone_test_accuracy'] for cell in cells]
    validation = [cell['standalone_val_accuracy'] for cell in cells]
    ranked = {name: two_level_correlations(
        values, standalone, resamples,
        baseline=None if name == DEFAULT_ESTIMATOR else scores[DEFAULT_ESTIMATOR])
        for name, values in scores.items() if '_order' not in name}
    for name in SEARCH_ESTIMATORS:
        ranked[name]['selection'] = two_level_correlations(
            scores[name], validation, resamples, baseline=scores[DEFAULT_ESTIMATOR],
            level=1 - 0.05 / len(SEARCH_ESTIMATORS))
    for name, values in scores.items():
        if '_order' in name:
            first = scores[name.split('_order')[0]]
            ranked[name.split('_order')[0]]['tau_with_another_data_order'] = float(
                rank_correlations(values, first, 2)['kendall_tau'])
    return ranked


def clearly_better(ranked: Dict[str, Any]) -> Optional[str]:
    """The estimator that can drive a search (:data:`SEARCH_ESTIMATORS`) with the highest tau
    on the validation accuracies among those whose gain there over the default has an
    interval above 0 (``ranked[name]['selection']``); None if none has."""
    def gain_low(name: str) -> float:
        interval = ranked[name]['selection'].get('tau_gain_interval')
        return interval[0] if interval else -math.inf

    better = [name for name in SEARCH_ESTIMATORS if gain_low(name) > 0]
    return max(better, key=lambda name: ranked[name]['selection']['kendall_tau'], default=None)


def plot(results: Dict[str, Any], prefix: str) -> List[str]:
    """Estimators' tau with intervals, the default and the best estimator's rank scatter,
    and the methods' test accuracies with the paired difference."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    paths = []
    estimators = results.get('estimators')
    if estimators:
        names = sorted((name for name in estimators
                        if not math.isnan(estimators[name]['kendall_tau'])),
                       key=lambda name: estimators[name]['kendall_tau'])
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(names) + 1.4))
        for row, name in enumerate(names):
            if estimators[name]['kendall_tau_interval']:
                ax.plot(estimators[name]['kendall_tau_interval'], [row, row], color='tab:gray')
            ax.plot(estimators[name]['kendall_tau'], row, 'o',
                    color='tab:red' if name == 'one_epoch' else 'tab:blue')
        ceiling = results['power']['noise_ceiling_tau']
        ax.axvline(ceiling, ls='--', color='tab:green', label=f'noise ceiling {ceiling:.2f}')
        ax.axvline(0, color='black', lw=0.5)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.set_xlabel('Kendall tau with stand-alone test accuracy (95 % interval)')
        ax.legend(fontsize=7, loc='lower right')
        paths.append(save_figure(fig, f'{prefix}_estimators.png'))

        best = max((n for n in names if n != 'one_epoch'),
                   key=lambda n: estimators[n]['kendall_tau'])
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
        for ax, name in zip(axes, ('one_epoch', best)):
            for cell in results['cells']:
                ax.scatter(cell['scores'][name], cell['standalone_mean'], s=18,
                           c='tab:gray' if cell['kind'] == 'random' else 'tab:red')
                if cell['kind'] != 'random':
                    ax.annotate(cell['kind'], (cell['scores'][name], cell['standalone_mean']),
                                fontsize=6)
            ax.set_xlabel(f'{name} (higher is better)')
            ax.set_title(f'tau {estimators[name]["kendall_tau"]:.2f}', fontsize=9)
        axes[0].set_ylabel('stand-alone test accuracy (%)')
        paths.append(save_figure(fig, f'{prefix}_ranking.png'))
    methods = results.get('methods')
    if methods:
        fig, (ax, paired) = plt.subplots(1, 2, figsize=(10, 3.8),
                                         gridspec_kw=dict(width_ratios=(3, 2)))
        labels = list(methods) + ['random cell']
        means = [methods[m]['mean'] for m in methods] + [results['references']['random_cell'][
            'mean']]
        stds = [methods[m]['std'] for m in methods] + [results['references']['random_cell'][
            'std']]
        ax.bar(range(len(labels)), means, yerr=stds, capsize=4,
               color=['tab:blue' if label.startswith('relativenas') else 'tab:orange'
                      if label.startswith('random_') or label == 'random' else 'tab:gray'
                      for label in labels])
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_ylim(min(m - sd for m, sd in zip(means, stds)) - 2,
                    max(m + sd for m, sd in zip(means, stds)) + 1)
        ax.set_ylabel('stand-alone test accuracy (%)')
        ax.set_title('mean and std over search seeds (random cell: over cells)', fontsize=9)
        suffixes = [name[len('relativenas'):] for name in methods
                    if name.startswith('relativenas')]
        for row, suffix in enumerate(suffixes):
            differences = [a['test_accuracy'] - b['test_accuracy'] for a, b in zip(
                methods[f'relativenas{suffix}']['seeds'], methods[f'random{suffix}']['seeds'])]
            difference = results[f'paired_difference{suffix}']
            spread = [row + 0.04 * (i - (len(differences) - 1) / 2)  # apart, by seed
                      for i in range(len(differences))]
            paired.plot(differences, spread, 'o', color='tab:gray', alpha=0.7, ms=5)
            paired.plot(difference['interval'], [row, row], color='black', lw=2)
            paired.plot(difference['mean'], row, 'D', color='tab:red', ms=7)
            paired.text(difference['mean'], row - 0.3,  # below the seeds' points
                        f'mean {difference["mean"]:+.2f}, 95 % '
                        f'[{difference["interval"][0]:+.2f}, '
                        f'{difference["interval"][1]:+.2f}]', ha='center', va='top',
                        fontsize=8)
        paired.axvline(0, color='black', lw=0.5)
        paired.set_yticks(range(len(suffixes)),
                          [f'estimator: {s[1:] or "default"}' for s in suffixes], fontsize=8)
        paired.set_ylim(-0.6, len(suffixes) - 0.4)
        paired.set_xlabel('difference per search seed (points)')
        paired.set_title('relativenas - random, paired by search seed', fontsize=9)
        paths.append(save_figure(fig, f'{prefix}_methods.png'))
    return paths


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default=osp.join('data', 'fashion_mnist'),
                        help='unpacked Fashion-MNIST (tools/dataset_converters/fashion_mnist.py)')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'search_quality_fashion_mnist'))
    parser.add_argument('--out', help='the results (default: benchmarks/results/'
                        'search_quality_fashion_mnist_cpu.json; with --mini, in the work dir)')
    parser.add_argument('--journal', help='finished trainings, searches and estimates, one JSON '
                        'line each (default: beside --out, so that a run continues on another '
                        'machine)')
    parser.add_argument('--until', choices=STAGES, default=STAGES[-1],
                        help='the last stage to run (the JSON holds the stages run)')
    parser.add_argument('--max-new', type=int, help='stop (exit code 3) before the journal '
                        'entry after this many new ones (at least 1); run again to continue in a '
                        'fresh process')
    parser.add_argument('--mini', action='store_true', help='miniature setting (tests)')
    parser.add_argument('--plots-only', action='store_true', help='draw the plots again from '
                        'the results at --out (nothing is trained, searched or estimated; with '
                        '--mini and no --out, the miniature results in --work-dir)')
    args = parser.parse_args(argv)
    try:
        return run(parser, args)
    except JournalLimit as stop:
        print(f'stopped after {stop}; run the same command again to continue')
        return 3


def replot(parser: argparse.ArgumentParser, out: str) -> int:
    """Draw the plots of the results at ``out`` again, beside it (``--plots-only``)."""
    if not osp.isfile(out):
        parser.error(f'--plots-only draws the results at --out, but there is no {out}: run '
                     f'the benchmark first or give --out')
    with open(out) as file:
        results = json.load(file)
    paths = plot(results, osp.splitext(out)[0])
    if not paths:
        parser.error(f'{out} holds no stage with plots (stages run: '
                     f'{", ".join(results.get("stages_run", [])) or "none"}): the plots need '
                     f'the estimators or methods stage')
    for path in paths:
        print(f'written {path}')
    return 0


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """The stages up to ``args.until`` (see :func:`main`)."""
    if args.out is None:
        args.out = osp.join(args.work_dir, 'search_quality_fashion_mnist_mini.json') \
            if args.mini else osp.join(RESULTS, 'search_quality_fashion_mnist_cpu.json')
    if args.plots_only:
        if args.until != STAGES[-1] or args.max_new is not None or args.journal:
            parser.error('--plots-only runs nothing: it reads --out alone (drop --until, '
                         '--max-new and --journal)')
        return replot(parser, args.out)
    if args.max_new is not None and args.max_new < 1:
        parser.error(f'--max-new must be at least 1, got {args.max_new}')
    if not osp.isfile(osp.join(args.data_root, 't10k-labels-idx1-ubyte')):
        parser.error(f'no unpacked Fashion-MNIST in {args.data_root}: run python '
                     f'tools/dataset_converters/fashion_mnist.py first')
    setting = MINI if args.mini else FULL
    if args.journal is None:
        args.journal = osp.splitext(args.out)[0] + '.jsonl'
    stages = STAGES[:STAGES.index(args.until) + 1]
    os.makedirs(args.work_dir, exist_ok=True)
    journal = Journal(args.journal, args.max_new)
    data = data_identity(args.data_root)
    if journal.get('data', lambda: data) != data:
        parser.error(f'{args.journal} holds results of other data than {args.data_root} '
                     f'(SHA-256 of the files differ): give another --journal')
    start = time.perf_counter()
    results: Dict[str, Any] = dict(
        device=device_name(), commit=commit(), torch=torch.__version__,
        command='python benchmarks/search_quality_fashion_mnist.py' +
        (' --mini' if args.mini else '') +
        ('' if args.until == STAGES[-1] else f' --until {args.until}'), stages_run=list(stages))

    calibration = calibrate(setting, args.data_root, args.work_dir, journal)
    proxy = next(p for p in setting['proxies'] if p['name'] == calibration['chosen'])
    standalone = StandAlone(proxy, args.data_root, setting['validation'], args.work_dir, journal)
    searches = Searches(setting, proxy, args.data_root, args.work_dir, journal)
    results.update(
        proxy=dict(proxy, data='Fashion-MNIST (real 28x28 grey images)',
                   pool=f'the first {proxy["train_images"]} training images',
                   recipe=osp.relpath(RETRAIN_CONFIG, ROOT), code_digest=standalone.digest,
                   seeds=setting['standalone_seeds'],
                   search=dict(setting['search'], config=osp.relpath(SEARCH_CONFIG, ROOT),
                               code_digest=searches.digest, seeds=setting['search_seeds'])),
        calibration=calibration)
    if 'ranking' in stages:
        ranking = rank_standalone(setting, standalone, test_images(args.data_root))
        results.update(power=ranking.pop('power'), cells=ranking.pop('cells'),
                       references=ranking.pop('references'), ranking=ranking)
    if 'estimators' in stages:
        cells = [cell['genotype'] for cell in results['cells']]
        digest = code_digest(search_config(proxy, setting['search'], 'DATA', 'POOL', 'RECIPE') +
                             repr((cells, setting)), SEARCH_CONFIG, ESTIMATE_CODE)
        estimates = journal.get(f'estimates/{digest}',
                                lambda: estimator_scores(setting, searches, args.data_root,
                                                         cells, digest))
        searched = searches.result('relativenas', 0)['genotype']
        if estimates['weight_set']['final_genotype'] != searched:
            raise RuntimeError(f'the estimates come from a search of RelativeNAS seed 0 that '
                               f'found {estimates["weight_set"]["final_genotype"]}, but the '
                               f'journaled search found {searched}: remove one of them')
        scores = estimates['scores']
        results['estimates_weight_set'] = estimates['weight_set']
        for index, cell in enumerate(results['cells']):
            cell['scores'] = {name: values[index] for name, values in scores.items()}
        results['estimators'] = rank_estimators(scores, results['cells'], setting['bootstrap'])
    if 'methods' in stages:
        variants = {'': searches}
        best = clearly_better(results['estimators'])
        if best is not None:
            variants[f'_{best}'] = Searches(setting, proxy, args.data_root, args.work_dir,
                                            journal, SEARCH_ESTIMATORS[best].format(**setting))
        methods = compare_methods(setting, variants, standalone,
                                  results['references']['random_cell']['mean'])
        results.update(methods=methods, search_estimator_clearly_better=best)
        for suffix in variants:
            results[f'paired_difference{suffix}'] = paired_difference(
                [seed['test_accuracy'] for seed in methods[f'relativenas{suffix}']['seeds']],
                [seed['test_accuracy'] for seed in methods[f'random{suffix}']['seeds']])
        results['power']['resolvable_difference_measured'] = resolvable_difference(
            results['paired_difference']['std'], results['paired_difference']['pairs'])
    entries = journal.entries
    trainings = [v['seconds'] for k, v in entries.items() if k.startswith('standalone/')]
    search_seconds = [v['search_seconds'] for k, v in entries.items() if k.startswith('search/')]
    results.update(runtime=dict(
        standalone_trainings=len(trainings), standalone_seconds=sum(trainings),
        median_seconds_per_training=statistics.median(trainings) if trainings else None,
        searches=len(search_seconds), search_generation_seconds=sum(search_seconds)),
        seconds_this_run=time.perf_counter() - start)
    prefix = osp.splitext(args.out)[0]
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    results['plots'] = [osp.basename(path) for path in plot(results, prefix)]
    atomic_write(args.out, json.dumps(results, indent=2) + '\n')
    print(f'written {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
