"""A latency lookup table of the network a genotype is retrained as, measured on this machine.

The network (:class:`~mmrnas.models.utils.genotype_classifier.GenotypeClassifier`) is split
into the parts a genotype does not change (the stem, every cell's two preprocessing layers,
the pooling and linear head) and the parts it does: the op of every edge, whose latency depends
only on the op, the cell's channels, the input resolution and the stride. Each distinct part
is timed once (:mod:`~mmrnas.models.latency.timing`); a genotype's raw prediction is the sum of
its parts, and an affine correction ``scale * raw + offset``, fitted on end-to-end
measurements of :data:`CALIBRATION_CELLS` networks (the cheapest and the most expensive cell
of the space and random ones), accounts for what the parts leave out (node sums,
concatenation, memory traffic between ops). On ONNX Runtime, which runs a network in one call
but each part in its own, the cost of a call (``call_ms``, timed on a one-multiplication graph)
is taken off every part first. Prediction is a fixed sum of stored numbers: the
same table gives the same number everywhere.

A table is identified by its fingerprint: the hardware, backend, library versions, threads,
batch size, timing protocol and network. Tables are cached by fingerprint (a table whose
content does not match the name it is cached under is rebuilt, not used).
"""
import hashlib
import json
import math
import os
import os.path as osp
import random
import sys
import time
from typing import Any, Callable, Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

from mmrnas.structures import SEARCH_PRIMITIVES, Genotype
from mmrnas.utils.config_keys import check_unknown_keys
from mmrnas.utils.fileio import atomic_write
from ..ops import OPS
from ..utils.genotype_classifier import GenotypeClassifier
from .timing import REPEATS, WARMUP, check_backend, device_name, time_module

__all__ = [
    'LatencyTable', 'parse_latency', 'latency_cache_dir', 'measure_latency', 'uniform_genotype',
    'random_genotype', 'TABLE_FORMAT'
]

TABLE_FORMAT = 1
#: ``latency`` keys and defaults.
LATENCY_DEFAULTS = dict(backend='torch', device='cpu', threads=None, batch_size=1)
#: Random cells (after the two uniform ones) whose end-to-end latency fits the correction.
CALIBRATION_CELLS = 6
CALIBRATION_SEED = 20211
NUM_NODES = 4
#: Tables this process timed but could not cache, by fingerprint digest.
_TIMED_HERE: Dict[str, Dict[str, Any]] = {}


def parse_latency(latency: Any, name: str, here: bool = True) -> Dict[str, Any]:
    """Check a cost model's ``latency=dict(backend, device, threads, batch_size)`` and fill
    its defaults; one ValueError, before any work, for anything wrong or, with ``here``, that
    cannot run on this machine.

    Args:
        latency: The config's dict.
        name: Where it is in the config (named by messages).
        here: Whether the table will be timed on this machine (False: a resumed search
            predicts from its checkpoint's table).
    """
    if not isinstance(latency, dict):
        raise ValueError(f"{name} must be a dict such as dict(backend='torch', device='cpu', "
                         f'threads=None, batch_size=1), got {latency!r}')
    check_unknown_keys(name, latency, tuple(LATENCY_DEFAULTS))
    parsed = dict(LATENCY_DEFAULTS, **latency)
    check_backend(parsed['backend'], parsed['device'], name, here)
    for key in ('threads', 'batch_size'):
        value = parsed[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise ValueError(f'{name}.{key} must be a positive integer'
                             f'{" or None (as many as PyTorch uses)" if key == "threads" else ""}'
                             f', got {value!r}')
    if parsed['batch_size'] is None:
        raise ValueError(f'{name}.batch_size must be a positive integer, got None')
    return parsed


def latency_cache_dir() -> str:
    """Where tables are cached: ``$MMRNAS_CACHE_DIR/latency``, else
    ``$XDG_CACHE_HOME/mmrnas/latency`` (``~/.cache`` without it)."""
    root = os.environ.get('MMRNAS_CACHE_DIR') or osp.join(
        os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'), 'mmrnas')
    return osp.join(root, 'latency')


def uniform_genotype(op: str) -> Genotype:
    """Both cells with ``op`` on every edge, each node reading the two cell inputs."""
    edges = [(op, 0), (op, 1)] * NUM_NODES
    return Genotype(edges, range(2, 6), edges, range(2, 6))


def random_genotype(rng: random.Random) -> Genotype:
    """A genotype of the search space drawn uniformly edge by edge (op and input)."""
    cells = [[(rng.choice(SEARCH_PRIMITIVES), rng.randrange(edge // 2 + 2))
              for edge in range(2 * NUM_NODES)] for _ in range(2)]
    return Genotype(cells[0], range(2, 6), cells[1], range(2, 6))


def _network(genotype: Genotype, network: Dict[str, Any]) -> GenotypeClassifier:
    with torch.random.fork_rng(devices=[]):  # building draws no numbers of the caller
        return GenotypeClassifier(genotype, network['base_channels'], network['num_cells'],
                                  network['stem'], network['num_classes'],
                                  network['in_channels'])


def measure_latency(genotype: Genotype, network: Dict[str, Any],
                    latency: Dict[str, Any]) -> float:
    """The end-to-end latency (ms) of ``genotype``'s network, by the timing protocol.

    Args:
        genotype: The architecture.
        network: ``base_channels``, ``num_cells``, ``stem``, ``num_classes``, ``input_size``,
            ``in_channels``.
        latency: From :func:`parse_latency`.
    """
    size = network['input_size']
    return time_module(_network(genotype, network),
                       (latency['batch_size'], network['in_channels'], size, size),
                       latency['backend'], latency['device'], _threads(latency))


def _threads(latency: Dict[str, Any]) -> int:
    return torch.get_num_threads() if latency['threads'] is None else latency['threads']


class _Scale(nn.Module):
    """The smallest graph ONNX Runtime runs (one multiplication): the cost of a call."""

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs * 1.0


class _Head(nn.Module):
    """Global average pooling and the linear classifier, as the network runs them."""

    def __init__(self, classifier: nn.Linear) -> None:
        super().__init__()
        self.classifier = classifier

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        return self.classifier(feature.mean(dim=(2, 3)))


def _edge_key(op: str, channels: int, resolution: int, stride: int) -> str:
    return f'{op}|c{channels}|r{resolution}|s{stride}'


def _edge_options(cell: Dict[str, Any], edge: int) -> List[Tuple[str, int, int]]:
    """``(channels, resolution, stride)`` an edge runs at, per input it may read."""
    options = []
    for state in range(edge // 2 + 2):
        reduce_here = cell['reduction'] and state < 2
        resolution = (cell['resolution'] if not cell['reduction'] or state < 2 else
                      (cell['resolution'] + 1) // 2)
        options.append((cell['channels'], resolution, 2 if reduce_here else 1))
    return options


class LatencyTable:
    """Measured latencies of a network's parts, and the prediction for any genotype.

    Args:
        fingerprint (dict): What the numbers belong to (hardware, backend, versions,
            threads, batch size, protocol, network).
        fixed (dict): ms of the parts every genotype has (stem, preprocessing, head).
        cells (list[dict]): ``reduction``, ``channels`` and ``resolution`` of each cell's
            states.
        edges (dict): ms of every (op, channels, resolution, stride) an edge can run at.
        correction (dict): ``scale``, ``offset`` and the ``calibration`` measurements.
        build_seconds (float): How long building took.
    """

    def __init__(self, fingerprint: Dict[str, Any], fixed: Dict[str, float],
                 cells: List[Dict[str, Any]], edges: Dict[str, float],
                 correction: Dict[str, Any], build_seconds: float) -> None:
        self.fingerprint = fingerprint
        self.fixed = fixed
        self.cells = cells
        self.edges = edges
        self.correction = correction
        self.build_seconds = build_seconds

    # ------------------------------------------------------------------ identity
    @staticmethod
    def fingerprint_of(network: Dict[str, Any], latency: Dict[str, Any]) -> Dict[str, Any]:
        """The fingerprint a table of ``network`` timed with ``latency`` has on this machine."""
        fingerprint = dict(format=TABLE_FORMAT, hardware=device_name(latency['backend'],
                                                                     latency['device']),
                           backend=latency['backend'], device=latency['device'],
                           torch=torch.__version__, threads=_threads(latency),
                           batch_size=latency['batch_size'],
                           protocol=dict(warmup=WARMUP, repeats=REPEATS, statistic='median'),
                           network={key: network[key] for key in sorted(network)})
        if latency['backend'] == 'onnxruntime':
            from importlib.metadata import version
            fingerprint['onnxruntime'] = version('onnxruntime')
        return fingerprint

    @staticmethod
    def digest(fingerprint: Dict[str, Any]) -> str:
        """A short hash of a fingerprint (the cache file's name)."""
        text = json.dumps(fingerprint, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def fingerprint_digest(self) -> str:
        return self.digest(self.fingerprint)

    # ------------------------------------------------------------------ prediction
    def raw(self, genotype: Genotype) -> float:
        """Sum of the parts of ``genotype``'s network (ms), before the correction."""
        total = sum(self.fixed.values())
        for cell in self.cells:
            edges, _ = genotype.cell('reduce' if cell['reduction'] else 'normal')
            for edge, (op, state) in enumerate(edges):
                if op not in SEARCH_PRIMITIVES or len(edges) != 2 * NUM_NODES:
                    raise ValueError(f'{genotype} is outside the search space the latency '
                                     f'table covers ({", ".join(SEARCH_PRIMITIVES)} on '
                                     f'{2 * NUM_NODES} edges)')
                total += self.edges[_edge_key(op, *_edge_options(cell, edge)[state])]
        return total

    def predict(self, genotype: Genotype) -> float:
        """Predicted latency (ms) of ``genotype``'s network (never below 0: a fit whose offset
        is negative cannot predict a negative time)."""
        return max(0.0, self.correction['scale'] * self.raw(genotype) +
                   self.correction['offset'])

    def extremes(self) -> Tuple[float, float]:
        """The smallest and largest prediction over the search space (every edge takes its
        cheapest, or dearest, op and input: the choices are independent)."""
        low = high = sum(self.fixed.values())
        for cell in self.cells:
            for edge in range(2 * NUM_NODES):
                times = [self.edges[_edge_key(op, *option)] for op in SEARCH_PRIMITIVES
                         for option in _edge_options(cell, edge)]
                low, high = low + min(times), high + max(times)
        scale, offset = self.correction['scale'], self.correction['offset']
        return max(0.0, scale * low + offset), max(0.0, scale * high + offset)

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, network: Dict[str, Any], latency: Dict[str, Any],
              log: Callable[[str], None] = print) -> 'LatencyTable':
        """Time every part of ``network`` and fit the correction (see the module).

        Args:
            network: ``base_channels``, ``num_cells``, ``stem``, ``num_classes``,
                ``input_size``, ``in_channels``.
            latency: From :func:`parse_latency`.
            log: Where progress goes.
        """
        start = time.perf_counter()
        fingerprint = cls.fingerprint_of(network, latency)
        backend, device, threads = latency['backend'], latency['device'], _threads(latency)
        batch = latency['batch_size']
        reference = _network(uniform_genotype('max_pool_3x3'), network)
        fixed_parts, cells = _layout(reference, network, batch)
        edge_parts = {}
        for cell in cells:
            for edge in range(2 * NUM_NODES):
                for channels, resolution, stride in _edge_options(cell, edge):
                    for op in SEARCH_PRIMITIVES:
                        edge_parts[_edge_key(op, channels, resolution, stride)] = (
                            op, channels, resolution, stride)
        rng = random.Random(CALIBRATION_SEED)
        calibration = [uniform_genotype('max_pool_3x3'), uniform_genotype('sep_conv_5x5')] + [
            random_genotype(rng) for _ in range(CALIBRATION_CELLS)]
        total = len(fixed_parts) + len(edge_parts) + len(calibration)
        progress = _progress(total)
        # ONNX Runtime runs a whole network in one call, but every part in a call of its own:
        # the cost of a call is taken off each part (PyTorch calls each module in the network
        # too, so its parts keep it).
        call = (time_module(_Scale(), (1, 1, 1, 1), backend, device, threads)
                if backend == 'onnxruntime' else 0.0)

        def part_ms(module: nn.Module, shape: Tuple[int, ...]) -> float:
            measured = time_module(module, shape, backend, device, threads)
            progress()
            return max(0.0, measured - call) if measured > 0 else 0.0

        fixed = {name: part_ms(module, shape) for name, (module, shape) in fixed_parts.items()}
        edges = {}
        for key, (op, channels, resolution, stride) in sorted(edge_parts.items()):
            with torch.random.fork_rng(devices=[]):
                module = OPS[op](channels, stride)
            edges[key] = part_ms(module, (batch, channels, resolution, resolution))
        table = cls(fingerprint, fixed, cells, edges, dict(scale=1.0, offset=0.0,
                                                           call_ms=call), 0.0)
        measured = []
        for genotype in calibration:
            measured.append(dict(genotype=str(genotype), raw_ms=table.raw(genotype),
                                 measured_ms=measure_latency(genotype, network, latency)))
            progress()
        table.correction = dict(_fit(measured), call_ms=call)
        table.build_seconds = time.perf_counter() - start
        log(f'latency table: {len(fixed) + len(edges)} parts and {len(calibration)} networks '
            f'timed in {table.build_seconds:.1f}s; {table.describe()}')
        return table

    def describe(self) -> str:
        """Where the numbers come from and the correction, in one line."""
        fingerprint = self.fingerprint
        return (f'{fingerprint["hardware"]}, {fingerprint["backend"]} on '
                f'{fingerprint["device"]}, {fingerprint["threads"]} threads, batch '
                f'{fingerprint["batch_size"]}, fingerprint {self.fingerprint_digest}; measured = '
                f'{self.correction["scale"]:.4f} * sum of parts + '
                f'{self.correction["offset"]:.4f} ms; the space predicted from '
                f'{self.extremes()[0]:.3f} to {self.extremes()[1]:.3f} ms')

    @classmethod
    def cached(cls, network: Dict[str, Any], latency: Dict[str, Any],
               log: Callable[[str], None] = print) -> 'LatencyTable':
        """This machine's table of ``network``: read from :func:`latency_cache_dir` when a
        table with the same fingerprint is there, else built and cached. In a distributed
        search rank 0 alone times (the other processes would disturb it) and every process
        takes its table, so all decide with the same numbers."""
        from mmengine.dist import broadcast_object_list, get_dist_info
        rank, world_size = get_dist_info()
        if world_size == 1:
            return cls._cached_here(network, latency, log)
        if latency['threads'] is None:
            log('latency: threads=None times with as many threads as this process uses, and a '
                'distributed launch usually sets OMP_NUM_THREADS=1: set latency.threads to the '
                'count you will deploy with')
        payload = None
        if rank == 0:
            try:
                payload = ('table', cls._cached_here(network, latency, log).to_dict())
            except Exception as error:  # every process must leave the broadcast
                payload = ('error', f'{type(error).__name__}: {error}')
        holder = [payload]
        broadcast_object_list(holder, src=0)
        kind, value = holder[0]
        if kind == 'error':
            raise ValueError(f'latency table (timed on rank 0): {value}')
        return cls.from_dict(value)

    @classmethod
    def _cached_here(cls, network: Dict[str, Any], latency: Dict[str, Any],
                     log: Callable[[str], None]) -> 'LatencyTable':
        fingerprint = cls.fingerprint_of(network, latency)
        digest = cls.digest(fingerprint)
        if digest in _TIMED_HERE:  # built in this process, its cache could not be written
            return cls.from_dict(_TIMED_HERE[digest])
        path = osp.join(latency_cache_dir(), f'{digest}.json')
        if osp.isfile(path):
            try:
                table = cls.from_dict(json.load(open(path)))
            except (OSError, ValueError, KeyError, TypeError) as error:
                log(f'latency table {path} is unreadable ({error}); building it again')
            else:
                if table.fingerprint == fingerprint:
                    log(f'latency table {path} (built in {table.build_seconds:.1f}s): '
                        f'{table.describe()}')
                    return table
                log(f'latency table {path} belongs to another fingerprint; building it again')
        table = cls.build(network, latency, log)
        try:
            atomic_write(path, json.dumps(table.to_dict(), indent=1, sort_keys=True))
        except OSError as error:  # the table is still good for this process
            _TIMED_HERE[digest] = table.to_dict()
            log(f'latency table not cached ({error}): set MMRNAS_CACHE_DIR to a writable '
                f'folder to keep it')
        else:
            log(f'latency table cached in {path}')
        return table

    # ------------------------------------------------------------------ state
    def to_dict(self) -> Dict[str, Any]:
        return dict(fingerprint=self.fingerprint, digest=self.fingerprint_digest,
                    fixed=dict(self.fixed), cells=[dict(c) for c in self.cells],
                    edges=dict(self.edges), correction=dict(self.correction),
                    build_seconds=self.build_seconds)

    @classmethod
    def from_dict(cls, state: Dict[str, Any]) -> 'LatencyTable':
        if state['fingerprint'].get('format') != TABLE_FORMAT:
            raise ValueError(f'table format {state["fingerprint"].get("format")!r}, this '
                             f'version reads {TABLE_FORMAT}')
        return cls(state['fingerprint'], dict(state['fixed']), [dict(c) for c in state['cells']],
                   dict(state['edges']), dict(state['correction']), state['build_seconds'])


def _layout(reference: GenotypeClassifier, network: Dict[str, Any], batch: int
            ) -> Tuple[Dict[str, Tuple[nn.Module, Tuple[int, ...]]], List[Dict[str, Any]]]:
    """The fixed parts of ``reference`` with the input shape each sees, and every cell's
    kind, channels and state resolution, read off one forward pass."""
    backbone = reference.backbone
    shapes: Dict[str, Tuple[int, ...]] = {}
    modules: Dict[str, nn.Module] = {}
    stems = ['stem'] if backbone.stem_type == 'cifar' else ['stem0', 'stem1']
    for name in stems:
        modules[name] = getattr(backbone, name)
    for index, cell in enumerate(backbone.cells):
        modules[f'cell{index}.preprocess0'] = cell.preprocess0
        modules[f'cell{index}.preprocess1'] = cell.preprocess1
    outputs: Dict[str, Tuple[int, ...]] = {}
    hooks = []
    for name, module in modules.items():
        def record(_, args, output, name=name):
            shapes[name] = tuple(args[0].shape)
            outputs[name] = tuple(output.shape)
        hooks.append(module.register_forward_hook(record))
    final: List[Tuple[int, ...]] = []
    hooks.append(reference.classifier.register_forward_pre_hook(
        lambda _, args: final.append(tuple(args[0].shape))))
    size = network['input_size']
    with torch.no_grad():
        last = reference.backbone(torch.zeros(batch, network['in_channels'], size, size))[-1]
    for hook in hooks:
        hook.remove()
    fixed = {name: (modules[name], shapes[name]) for name in modules}
    fixed['head'] = (_Head(reference.classifier), tuple(last.shape))
    cells = []
    for index, cell in enumerate(backbone.cells):
        state = outputs[f'cell{index}.preprocess1']
        cells.append(dict(reduction=bool(cell.reduction), channels=state[1],
                          resolution=state[2]))
    return fixed, cells


def _fit(measured: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Least-squares ``measured = scale * raw + offset``; a plain offset (scale 1) when the
    calibration networks do not determine a positive scale."""
    xs = [m['raw_ms'] for m in measured]
    ys = [m['measured_ms'] for m in measured]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x)**2 for x in xs)
    scale = (sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread
             if spread > 0 else 0.0)
    if not (scale > 0 and math.isfinite(scale)):
        scale = 1.0
    return dict(scale=scale, offset=mean_y - scale * mean_x, calibration=list(measured))


def _progress(total: int) -> Callable[[], None]:
    """A progress bar on a terminal, else nothing."""
    if not sys.stdout.isatty():
        return lambda: None
    from mmengine.utils import ProgressBar
    bar = ProgressBar(total)
    return bar.update
