"""Does the search find better cells than chance? Measured on a CPU proxy with real images.

Data: scikit-learn's 1,797 handwritten digits. The first ``POOL_SIZE`` images are the pool:
searches split it in two (train / validate candidates) and stand-alone trainings learn from
all of it. The remaining images are the test set, never seen by a search or a training.

Stages (each resumable: finished trainings, estimates and searches are kept in the work dir
and not redone when the command is run again):

1. ``calibration`` -- the stand-alone proxy must tell architectures apart: for every proxy in
   ``PROXIES``, random genotypes are trained from scratch with several seeds; the first proxy
   (in the order of ``PROXIES``, cheapest first) whose genotypes' mean test accuracies spread
   (sample std) by more than twice the pooled seed-to-seed std is chosen, else the one with
   the largest ratio (and the JSON says the criterion was not met).
2. ``methods`` -- ``tools/search.py configs/rnas_quickstart.py --seeds ...`` on the pool with
   ``population_update='slow_fast'`` (RelativeNAS) and ``'random'`` (random search: the same
   weight-sharing estimates, pair write-back, cost and final re-evaluation, the population
   redrawn uniformly each generation); seed 0 of RelativeNAS runs twice to check that a seed
   gives the same genotype bit for bit. Every found genotype is trained stand-alone.
3. ``ranking`` -- random genotypes plus the library's RelativeNAS and DARTS_V2 and an
   all-pooling cell are trained stand-alone, and estimated the way the search estimates
   (cut out of the final weight set of RelativeNAS seed 0, one epoch of training at the last
   generation's lr, validation; two data orders); Kendall tau and Spearman rho between the
   first estimate's validation loss and the stand-alone test accuracy, with bootstrap
   intervals over genotypes.

Stand-alone training follows the digits retraining recipe
(``configs/retrain/rnas_c8l5_1xb64-12e_digits-16.py``: ImageClassifier with RelativeNASBackbone
and RelativeNASClsHead, SGD momentum 0.9, weight decay 3e-4, cosine lr from 0.05, grad-norm
clip 5, drop path 0.1 * e / E, random crop) at the calibrated size, width and epochs, run as a
plain loop over the images held in memory (the search's batched augmentation) instead of
MMEngine's Runner, for speed.

Usage::

    python benchmarks/search_quality.py [--work-dir work_dirs/search_quality]
        [--out benchmarks/results/search_quality_cpu.json] [--mini]

``--mini`` runs a miniature setting (a few genotypes, one epoch) to check the logic.
"""
import argparse
import importlib.util
import json
import math
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from mmrnas.engine.search_work_dir import search_traces  # noqa: E402
from mmrnas.structures import Genotype, get_genotype  # noqa: E402
from mmrnas.utils.fileio import atomic_write  # noqa: E402

SEARCH_CONFIG = osp.join(ROOT, 'configs', 'rnas_quickstart.py')
RETRAIN_CONFIG = osp.join(ROOT, 'configs', 'retrain', 'rnas_c8l5_1xb64-12e_digits-16.py')
POOL_SIZE = 1000
METHODS = dict(relativenas='slow_fast', random='random')
LIBRARY_GENOTYPES = ('RelativeNAS', 'DARTS_V2')
_POOLING = [('max_pool_3x3', 0), ('avg_pool_3x3', 1)] * 4
ALL_POOLING = str(Genotype(_POOLING, range(2, 6), _POOLING, range(2, 6)))

#: Stand-alone proxies tried by the calibration, in order of cost.
PROXIES = (
    dict(name='c4_16px_4e', size=16, base_channels=4, epochs=4),
    dict(name='c4_16px_8e', size=16, base_channels=4, epochs=8),
    dict(name='c4_16px_20e', size=16, base_channels=4, epochs=20),
    dict(name='c8_16px_12e', size=16, base_channels=8, epochs=12),
)
FULL = dict(proxies=PROXIES, calibration_genotypes=8, ranking_random=17, standalone_seeds=3,
            search_seeds=(0, 1, 2, 3, 4), estimate_orders=2,
            # 16 steps per candidate epoch on the 500 training images (batch 128 gives 4, too
            # few to train the weight set: see benchmarks/README.md)
            search_options=('train_dataloader.batch_size=32',
                            'train_dataloader.val_batch_size=256'),
            bootstrap=2000)
MINI = dict(proxies=(dict(name='mini', size=8, base_channels=2, epochs=1), ),
            calibration_genotypes=2, ranking_random=2, standalone_seeds=2, search_seeds=(0, 1),
            estimate_orders=2, search_options=('train_cfg.max_generations=1',
                                               'train_cfg.population_size=2',
                                               'model.base_channels=4', 'model.num_cells=3',
                                               # searches on 200 of the pool
                                               'train_dataloader.dataset.num_train=200'),
            bootstrap=50)


# ---------------------------------------------------------------------------- statistics
def seed_spread(accuracies: Dict[str, List[float]]) -> Dict[str, Any]:
    """Calibration numbers of ``{genotype: [accuracy per seed]}``: each genotype's mean and
    seed-to-seed std, the pooled seed std (root mean of the per-genotype sample variances),
    the sample std and the range of the per-genotype means, and whether the std exceeds twice
    the seed std."""
    means = [statistics.fmean(values) for values in accuracies.values()]
    seed_std = math.sqrt(statistics.fmean(statistics.variance(v) for v in accuracies.values()))
    spread = statistics.stdev(means)
    return dict(per_genotype={genotype: mean_std(values)
                              for genotype, values in accuracies.items()},
                seed_std=seed_std, spread_std=spread, spread_range=max(means) - min(means),
                ratio=spread / seed_std if seed_std > 0 else math.inf,
                criterion_met=spread > 2 * seed_std)


def rank_correlations(x: Sequence[float], y: Sequence[float], resamples: int,
                      seed: int = 0) -> Dict[str, Any]:
    """Kendall tau-b and Spearman rho of ``x`` and ``y`` with 95% percentile bootstrap
    intervals (genotypes resampled with replacement; resamples with a constant side are
    dropped)."""
    from scipy.stats import kendalltau, spearmanr
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    rng = np.random.default_rng(seed)
    taus, rhos = [], []
    for _ in range(resamples):
        rows = rng.integers(0, len(x), len(x))
        if np.ptp(x[rows]) == 0 or np.ptp(y[rows]) == 0:
            continue
        taus.append(kendalltau(x[rows], y[rows])[0])
        rhos.append(spearmanr(x[rows], y[rows])[0])

    def interval(values):
        return [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]

    return dict(kendall_tau=float(kendalltau(x, y)[0]), kendall_tau_interval=interval(taus),
                spearman_rho=float(spearmanr(x, y)[0]), spearman_rho_interval=interval(rhos),
                bootstrap_resamples=len(taus))


def mean_std(values: Sequence[float]) -> Dict[str, float]:
    return dict(mean=statistics.fmean(values),
                std=statistics.stdev(values) if len(values) > 1 else 0.0)


# ---------------------------------------------------------------------------- bookkeeping
class JournalLimit(Exception):
    """The journal computed as many new entries as it was allowed to in this process."""


class Journal:
    """Results kept one JSON line each in ``path``, keyed; a run that stops loses at most the
    line it was writing (an incomplete last line is ignored). With ``max_new``, asking for the
    entry after ``max_new`` new ones raises :class:`JournalLimit` (a long benchmark can go on
    in fresh processes)."""

    def __init__(self, path: str, max_new: Optional[int] = None):
        self.path = path
        self.max_new = max_new
        self.new = 0
        self.entries: Dict[str, Any] = {}
        if osp.exists(path):
            with open(path, 'rb+') as f:  # a line cut off by a stop: the next one starts anew
                if f.seek(0, os.SEEK_END) > 0:
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b'\n':
                        f.write(b'\n')
            with open(path) as f:
                for line in f:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    self.entries[entry['key']] = entry['value']

    def check_limit(self) -> None:
        """Raise :class:`JournalLimit` if this process made its ``max_new`` new entries."""
        if self.max_new is not None and self.new >= self.max_new:
            raise JournalLimit(f'{self.new} new entries in this process')

    def get(self, key: str, compute: Callable[[], Any], counted: bool = True) -> Any:
        """The entry ``key``, computed and written first if missing (``counted`` False: a
        record of finished work, not counted against ``max_new``)."""
        if key not in self.entries:
            if counted:
                self.check_limit()
            value = compute()
            self.new += counted
            with open(self.path, 'a') as f:
                f.write(json.dumps(dict(key=key, value=value)) + '\n')
                f.flush()
                os.fsync(f.fileno())
            self.entries[key] = value
        return self.entries[key]


def random_genotypes(count: int, seed: int = 2026) -> List[str]:
    """``count`` genotypes decoded from uniform random positions (a fixed stream)."""
    from mmrnas.search import decode, random_vectors
    vectors = random_vectors(count, np.random.default_rng(seed))
    return [str(decode(vector)) for vector in vectors]


# ---------------------------------------------------------------------------- stand-alone
class StandAlone:
    """Trains genotypes from scratch on the pool and tests them on the held-out images."""

    def __init__(self, proxy: Dict[str, Any]):
        from mmengine.config import Config

        import mmrnas.models  # noqa: F401  registers the backbone
        import mmrnas.models.heads.relativenas_cls_head  # noqa: F401
        from mmrnas.datasets import BatchAugment, TensorBatches, load_digits
        self.proxy = proxy
        images, labels = load_digits(proxy['size'])
        pool = images[:POOL_SIZE].float().div(255)
        mean = pool.mean(dim=(0, 2, 3))
        std = pool.std(dim=(0, 2, 3))
        self.train_set = TensorBatches(images[:POOL_SIZE], labels[:POOL_SIZE], mean, std)
        self.test_set = TensorBatches(images[POOL_SIZE:], labels[POOL_SIZE:], mean, std)
        self.augment = BatchAugment(crop_padding=max(1, proxy['size'] // 8), flip=False,
                                    cutout=None)
        self.recipe = Config.fromfile(RETRAIN_CONFIG)

    def _model(self, genotype: str) -> torch.nn.Module:
        from mmengine.registry import DefaultScope
        from mmpretrain.registry import MODELS
        cfg = self.recipe.model.copy()
        channels = self.proxy['base_channels']
        cfg.backbone.update(genotype=genotype, base_channels=channels)
        cfg.head.in_channels = 16 * channels
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            return MODELS.build(cfg)

    def train(self, genotype: str, seed: int) -> Dict[str, float]:
        from mmrnas.engine.estimators import CandidateTrainer
        torch.manual_seed(seed)
        classifier = self._model(genotype)
        model = _Logits(classifier)
        generator = torch.Generator().manual_seed(seed)
        optimizer = self.recipe.optim_wrapper.optimizer
        trainer = CandidateTrainer(
            self.train_set, self.test_set, generator, batch_size=self.recipe.train_dataloader
            .batch_size, val_batch_size=256, optimizer=dict(
                type=optimizer.type, momentum=optimizer.momentum,
                weight_decay=optimizer.weight_decay),
            max_grad_norm=self.recipe.optim_wrapper.clip_grad.max_norm,
            train_augment=self.augment)
        epochs = self.proxy['epochs']
        max_drop_path = self.recipe.custom_hooks[0]['max_rate']
        start = time.perf_counter()
        for epoch in range(epochs):
            classifier.backbone.drop_path_rate = max_drop_path * epoch / epochs
            lr = optimizer.lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
            trainer.train_epoch(model, lr)
        loss, accuracy = trainer.evaluate(model)
        params = sum(p.numel() for p in classifier.parameters())
        return dict(test_accuracy=accuracy, test_loss=loss, params=params,
                    seconds=time.perf_counter() - start)


class _Logits(torch.nn.Module):
    """An mmpretrain classifier as a module that returns logits."""

    def __init__(self, classifier: torch.nn.Module):
        super().__init__()
        self.classifier = classifier

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.classifier(inputs, mode='tensor')


# ---------------------------------------------------------------------------- searches
def search_tool():
    spec = importlib.util.spec_from_file_location('mmrnas_search_tool',
                                                  osp.join(ROOT, 'tools', 'search.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def search_options(setting: Dict[str, Any], update: str) -> List[str]:
    """``--cfg-options`` of the searches: the quickstart on the pool, mean / std of the pool."""
    return [f'train_dataloader.dataset.num_train={POOL_SIZE}',
            'train_dataloader.dataset.split=train', 'train_dataloader.mean=None',
            'train_dataloader.std=None', f'train_cfg.population_update={update}',
            *setting['search_options']]


def run_searches(tool, work_dir: str, seeds: Sequence[int], options: List[str]) -> dict:
    """``tools/search.py`` with ``--seeds`` (resumed where it stopped); its summary."""
    resume = ['--resume'] if search_traces(work_dir) else []
    code = tool.main([SEARCH_CONFIG, '--work-dir', work_dir, *resume, '--seeds',
                      *map(str, seeds), '--cfg-options', *options])
    if code != 0:
        raise RuntimeError(f'tools/search.py exited with {code} in {work_dir}')
    with open(osp.join(work_dir, 'seeds_summary.json')) as f:
        summary = json.load(f)
    return summary


def search_seconds(work_dir: str) -> float:
    """Seconds the generations of a search took (``history.jsonl``; without the final
    re-evaluation)."""
    with open(osp.join(work_dir, 'history.jsonl')) as f:
        return sum(json.loads(line)['seconds'] for line in f)


def same_run(first: str, second: str) -> Dict[str, bool]:
    """Whether two work dirs of the same seed hold the same genotype file (bytes) and the
    same decisions (history without the timings)."""
    def read(work_dir, name):
        with open(osp.join(work_dir, name), 'rb') as f:
            return f.read()

    def decisions(work_dir):
        records = [json.loads(line) for line in read(work_dir, 'history.jsonl').splitlines()]
        for record in records:
            record.pop('seconds')
        return records

    return dict(identical_genotype_file=read(first, 'best_genotype.yaml') == read(
        second, 'best_genotype.yaml'), identical_decisions=decisions(first) == decisions(second))


def estimate_all(tool, work_dir: str, options: List[str], seed: int, checkpoint: str,
                 genotypes: List[str], orders: int) -> Dict[str, List[Dict[str, float]]]:
    """Estimate every genotype from the weight set in ``checkpoint`` the way the search
    does, once per data order (the data generator seeded with the order)."""
    from mmrnas.engine import load_search_checkpoint
    args = tool.parse_args([SEARCH_CONFIG, '--work-dir', work_dir, '--cfg-options', *options])
    loop = tool.prepare(tool.seed_config(tool.load_search_config(args), args, seed,
                                         False)).train_loop
    weight_set = load_search_checkpoint(checkpoint)['weight_set']
    estimates = {}
    for genotype in genotypes:
        estimates[genotype] = []
        for order in range(orders):
            loop.model.load_state_dict(weight_set)
            loop.data_generator.manual_seed(order)
            result = loop.estimate_genotypes([Genotype.from_string(genotype)])[0]
            estimates[genotype].append(
                dict(val_loss=result.val_loss, val_accuracy=result.val_accuracy))
    return estimates


# ---------------------------------------------------------------------------- plots
def save_figure(fig, path: str) -> str:
    """Lay out, write (110 dpi, atomically, in the format of the extension, PNG without one)
    and close a matplotlib figure; its path."""
    import matplotlib.pyplot as plt
    try:
        fig.tight_layout()
        atomic_write(path, lambda file: fig.savefig(
            file, format=osp.splitext(path)[1][1:] or 'png', dpi=110))
    finally:
        plt.close(fig)
    return path


def plot(results: Dict[str, Any], out_prefix: str) -> List[str]:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    paths = []
    ranking = results['ranking']
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for entry in ranking['genotypes']:
        color = dict(random='tab:gray').get(entry['kind'], 'tab:red')
        ax.scatter(entry['estimate_val_loss'], entry['standalone_test_accuracy'], c=color, s=22)
        if entry['kind'] != 'random':
            ax.annotate(entry['kind'], (entry['estimate_val_loss'],
                                        entry['standalone_test_accuracy']), fontsize=7)
    ax.set_xlabel('weight-sharing estimate: validation loss (lower is better)')
    ax.set_ylabel('stand-alone test accuracy (%)')
    ax.set_title(f'Kendall tau {ranking["kendall_tau"]:.2f} '
                 f'[{ranking["kendall_tau_interval"][0]:.2f}, '
                 f'{ranking["kendall_tau_interval"][1]:.2f}]', fontsize=9)
    paths.append(save_figure(fig, f'{out_prefix}_ranking.png'))

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    labels, means, stds = [], [], []
    for name, method in results['methods'].items():
        labels.append(f'{name}\n({len(method["seeds"])} seeds)')
        means.append(method['mean'])
        stds.append(method['std'])
    for name, reference in results['references'].items():
        labels.append(name.replace('_', '\n'))
        means.append(reference['mean'])
        stds.append(reference['std'])
    ax.bar(range(len(labels)), means, yerr=stds, capsize=4,
           color=['tab:blue', 'tab:orange'] + ['tab:gray'] * (len(labels) - 2))
    ax.set_xticks(range(len(labels)), labels, fontsize=7)
    low = min(m - s for m, s in zip(means, stds))
    ax.set_ylim(max(0, low - 3), 100)
    ax.set_ylabel('stand-alone test accuracy (%)')
    paths.append(save_figure(fig, f'{out_prefix}_methods.png'))
    return paths


# ---------------------------------------------------------------------------- main
def commit() -> str:
    try:
        return subprocess.check_output(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                                       text=True, stderr=subprocess.DEVNULL).strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def device_name() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return f'{model} ({torch.get_num_threads()} threads)'


def runtime(journal: Journal, methods: Dict[str, Any], work_dir: str) -> Dict[str, Any]:
    """What the whole benchmark costs from scratch, from what it kept: the stand-alone
    trainings (all proxies) and the searches' generations (without start-up and final
    re-evaluation)."""
    trainings = [value['seconds'] for key, value in journal.entries.items()
                 if key.startswith('standalone/')]
    searches = [seed['search_seconds'] for method in methods.values()
                for seed in method['seeds']]
    first = methods['relativenas']['seeds'][0]['seed']
    searches.append(search_seconds(osp.join(work_dir, 'relativenas_repeat', f'seed_{first}')))
    return dict(standalone_trainings=len(trainings), standalone_seconds=sum(trainings),
                searches=len(searches), search_generation_seconds=sum(searches))


def calibrate(setting, journal) -> Dict[str, Any]:
    genotypes = random_genotypes(setting['calibration_genotypes'])
    report, chosen = [], None
    for proxy in setting['proxies']:
        standalone = StandAlone(proxy)
        accuracies = {
            genotype: [
                journal.get(f'standalone/{proxy["name"]}/{genotype}/{seed}',
                            lambda g=genotype, s=seed: standalone.train(g, s))['test_accuracy']
                for seed in range(setting['standalone_seeds'])
            ]
            for genotype in genotypes
        }
        spread = dict(proxy, **seed_spread(accuracies), accuracies=accuracies)
        report.append(spread)
        print(f'calibration {proxy["name"]}: seed std {spread["seed_std"]:.2f}, spread std '
              f'{spread["spread_std"]:.2f}, range {spread["spread_range"]:.2f}', flush=True)
        if spread['criterion_met'] and chosen is None:
            chosen = spread
    if chosen is None:
        chosen = max(report, key=lambda entry: entry['ratio'])
    return dict(tried=report, chosen=chosen['name'], criterion_met=chosen['criterion_met'],
                random_genotypes=len(genotypes), seeds=setting['standalone_seeds'],
                criterion='sample std of the genotypes\' mean test accuracies > 2 x pooled '
                'seed-to-seed std')


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'search_quality'))
    parser.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'results',
                                                  'search_quality_cpu.json'))
    parser.add_argument('--mini', action='store_true', help='miniature setting (tests)')
    args = parser.parse_args(argv)
    setting = MINI if args.mini else FULL
    os.makedirs(args.work_dir, exist_ok=True)
    journal = Journal(osp.join(args.work_dir, 'journal.jsonl'))
    start = time.perf_counter()

    calibration = calibrate(setting, journal)
    proxy = next(p for p in setting['proxies'] if p['name'] == calibration['chosen'])
    standalone = StandAlone(proxy)

    def trained(genotype: str) -> List[Dict[str, float]]:
        return [
            journal.get(f'standalone/{proxy["name"]}/{genotype}/{seed}',
                        lambda s=seed: standalone.train(genotype, s))
            for seed in range(setting['standalone_seeds'])
        ]

    def accuracy(genotype: str) -> Dict[str, float]:
        return mean_std([run['test_accuracy'] for run in trained(genotype)])

    tool = search_tool()
    methods = {}
    for name, update in METHODS.items():
        options = search_options(setting, update)
        summary = run_searches(tool, osp.join(args.work_dir, name), setting['search_seeds'],
                               options)
        seeds = []
        for result in summary['seeds']:
            test = accuracy(result['genotype'])
            seeds.append(dict(seed=result['seed'], genotype=result['genotype'],
                              estimate_val_loss=result['val_loss'],
                              estimate_val_accuracy=result['val_accuracy'],
                              search_seconds=search_seconds(result['work_dir']),
                              test_accuracy=test['mean'], test_accuracy_seed_std=test['std']))
        tests = [seed['test_accuracy'] for seed in seeds]
        methods[name] = dict(seeds=seeds, **mean_std(tests),
                             distinct_genotypes=summary['distinct_genotypes'],
                             same_genotype_groups=summary['same_genotype_groups'],
                             edge_distance=summary['edge_distance'])
    repeat_dir = osp.join(args.work_dir, 'relativenas_repeat')
    run_searches(tool, repeat_dir, setting['search_seeds'][:1],
                 search_options(setting, 'slow_fast'))
    seed0 = f'seed_{setting["search_seeds"][0]}'
    methods['relativenas']['repeat_of_first_seed'] = same_run(
        osp.join(args.work_dir, 'relativenas', seed0), osp.join(repeat_dir, seed0))

    kinds = {genotype: 'random' for genotype in random_genotypes(setting['ranking_random'])}
    kinds.update({str(get_genotype(name)): name for name in LIBRARY_GENOTYPES})
    kinds[ALL_POOLING] = 'all_pooling'
    checkpoint = osp.join(args.work_dir, 'relativenas', seed0, 'checkpoints', 'search_final.pth')
    estimates = journal.get(
        'estimates', lambda: estimate_all(tool, osp.join(args.work_dir, 'ranking_estimates'),
                                          search_options(setting, 'slow_fast'),
                                          setting['search_seeds'][0], checkpoint,
                                          list(kinds), setting['estimate_orders']))
    entries = []
    for genotype, kind in kinds.items():
        test = accuracy(genotype)
        entries.append(dict(genotype=genotype, kind=kind, standalone_test_accuracy=test['mean'],
                            standalone_seed_std=test['std'],
                            estimate_val_loss=estimates[genotype][0]['val_loss'],
                            estimate_val_accuracy=estimates[genotype][0]['val_accuracy'],
                            estimates=estimates[genotype]))
    standalone_scores = [entry['standalone_test_accuracy'] for entry in entries]
    ranking = rank_correlations([-entry['estimate_val_loss'] for entry in entries],
                                standalone_scores, setting['bootstrap'])
    by_accuracy = rank_correlations([entry['estimate_val_accuracy'] for entry in entries],
                                    standalone_scores, setting['bootstrap'])
    repeat_order = rank_correlations([-entry['estimates'][1]['val_loss'] for entry in entries],
                                     [-entry['estimate_val_loss'] for entry in entries],
                                     setting['bootstrap'])
    ranking.update(
        genotypes=entries, weight_set=f'final weight set of RelativeNAS seed '
        f'{setting["search_seeds"][0]}', score='estimate: -validation loss (the teacher '
        'criterion); stand-alone: mean test accuracy over seeds',
        by_estimated_accuracy=dict(kendall_tau=by_accuracy['kendall_tau'],
                                   spearman_rho=by_accuracy['spearman_rho']),
        estimate_vs_estimate_other_data_order=dict(kendall_tau=repeat_order['kendall_tau']))

    random_pool = [entry['standalone_test_accuracy'] for entry in entries
                   if entry['kind'] == 'random']
    references = {name: accuracy(str(get_genotype(name))) for name in LIBRARY_GENOTYPES}
    references['all_pooling'] = accuracy(ALL_POOLING)
    references['random_genotype'] = mean_std(random_pool)

    results = dict(
        device=device_name(), commit=commit(), torch=torch.__version__,
        command='python benchmarks/search_quality.py' + (' --mini' if args.mini else ''),
        proxy=dict(data="scikit-learn digits (1797 real 8x8 images)", pool=POOL_SIZE,
                   test=1797 - POOL_SIZE, search='configs/rnas_quickstart.py on the pool '
                   '(8x8, C8 L5 supernet, 8 individuals, 5 generations, 500 / 500 split, '
                   'options below)',
                   search_options=search_options(setting, '<slow_fast|random>'),
                   standalone=dict(proxy, recipe=osp.relpath(RETRAIN_CONFIG, ROOT),
                                   seeds=setting['standalone_seeds'])),
        calibration=calibration, ranking=ranking, methods=methods, references=references,
        runtime=runtime(journal, methods, args.work_dir),
        seconds_this_run=time.perf_counter() - start)
    prefix = osp.splitext(args.out)[0]
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    results['plots'] = [osp.basename(path) for path in plot(results, prefix)]
    atomic_write(args.out, json.dumps(results, indent=2) + '\n')
    for name, method in methods.items():
        print(f'{name}: test accuracy {method["mean"]:.2f} +- {method["std"]:.2f}% over '
              f'{len(method["seeds"])} seeds, {method["distinct_genotypes"]} distinct genotypes')
    print(f'ranking: Kendall tau {ranking["kendall_tau"]:.3f} {ranking["kendall_tau_interval"]}'
          f', Spearman rho {ranking["spearman_rho"]:.3f}')
    print(f'written {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
