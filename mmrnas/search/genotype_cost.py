"""Params, mult-adds and latency of the network a genotype will be retrained as (budget-aware
search)."""
import logging
from typing import Any, Dict, Optional, Tuple

import torch
from mmengine.logging import print_log

from mmrnas.registry import TASK_UTILS
from mmrnas.structures import Genotype
from mmrnas.utils.config_keys import check_unknown_keys

__all__ = ['COST_KEYS', 'GenotypeCost']

#: The resources a search can limit or minimise (``latency_ms`` with a ``latency`` setting).
COST_KEYS = ('params', 'mult_adds', 'latency_ms')
LATENCY_KEY = 'latency_ms'
CONSTRAINT_MODEL_KEYS = ('base_channels', 'num_cells', 'stem', 'num_classes', 'input_size')
#: Keys of ``constraint_model`` that may be left out (``in_channels``: the search fills it
#: from its data).
OPTIONAL_KEYS = ('in_channels', 'latency')


@TASK_UTILS.register_module()
class GenotypeCost:
    """Counts a genotype's network as it will be retrained, with the project's counters.

    ``params``: every parameter of the backbone and the linear classifier (the auxiliary head
    excluded, as the model zoo counts); ``mult_adds``: the reference counter
    (:func:`~mmrnas.models.utils.complexity.count_mult_adds`) on one ``input_size`` image. Both
    are computed once per genotype and cached. With ``latency``, ``latency_ms``: the latency
    predicted by this machine's :class:`~mmrnas.models.latency.LatencyTable` of the network
    (built, or read from its cache, when the cost model is built).

    The extremes of the search space are exact: every searchable op adds its own module to
    its edge, pooling ops add nothing (no parameters, no counted mult-adds) and
    ``sep_conv_5x5`` adds the most on any edge (two depthwise 5x5 + pointwise stacks); so the
    cheapest network has pooling on every edge and the most expensive ``sep_conv_5x5``.

    Args:
        base_channels (int): C of the retraining network (e.g. 36 for CIFAR).
        num_cells (int): L of the retraining network (e.g. 20).
        stem (str): ``'cifar'`` or ``'imagenet'``.
        num_classes (int): Classes of the retraining data.
        input_size (int): Side of the retraining images (e.g. 32 or 224).
        in_channels (int): Channels of the retraining images (1 for grey images). Defaults
            to 3; a search fills it from its data when the config leaves it out.
        latency (dict, optional): ``dict(backend='torch' | 'onnxruntime', device='cpu' |
            'cuda', threads=None, batch_size=1)``: also predict latency (see
            :func:`~mmrnas.models.latency.parse_latency`). Defaults to None.
        name (str): Where the config is (named by messages), not a setting of the network.
        latency_table (dict, optional): A stored table to predict with (a resumed search's),
            instead of this machine's; it need not run here.

    Raises:
        ValueError: when the network cannot be built or run at ``input_size`` (one line).
    """

    def __init__(self, base_channels: int, num_cells: int, stem: str, num_classes: int,
                 input_size: int, in_channels: int = 3, latency: Optional[dict] = None,
                 name: str = 'train_cfg.constraint_model',
                 latency_table: Optional[Dict[str, Any]] = None):
        from mmrnas.models.latency import LatencyTable, parse_latency, uniform_genotype
        self.config: Dict[str, Any] = dict(base_channels=base_channels, num_cells=num_cells,
                                           stem=stem, num_classes=num_classes,
                                           input_size=input_size, in_channels=in_channels)
        network = dict(self.config)
        if latency is not None:  # recorded only when set: earlier checkpoints resume
            self.config['latency'] = parse_latency(latency, f'{name}.latency',
                                                   here=latency_table is None)
        self._cache: Dict[str, Dict[str, int]] = {}
        #: The latency table, with ``latency``.
        self.latency_table: Optional[LatencyTable] = None
        try:
            self._extremes = {
                bound: self(uniform_genotype(op))
                for bound, op in (('min', 'max_pool_3x3'), ('max', 'sep_conv_5x5'))
            }
        except Exception as error:  # any failure to build or run is the config's problem
            raise ValueError(f'{name}={network} does not build a '
                             f'network: {type(error).__name__}: {error}') from error
        if latency is not None and latency_table is not None:
            self.use_latency_table(LatencyTable.from_dict(latency_table))
        elif latency is not None:
            self.use_latency_table(LatencyTable.cached(
                network, self.config['latency'], lambda line: print_log(line, 'current')))

    @classmethod
    def from_config(cls, config: Any, name: str = 'train_cfg.constraint_model',
                    latency_table: Optional[Dict[str, Any]] = None) -> 'GenotypeCost':
        """Build from ``train_cfg.constraint_model`` (at ``name`` in the config); an unknown key
        (with the closest spelling) or a missing one is one error."""
        if not isinstance(config, dict):
            raise ValueError(f'{name} must be a dict with '
                             f'{", ".join(CONSTRAINT_MODEL_KEYS)}, got {config!r}')
        check_unknown_keys(name, config,
                           CONSTRAINT_MODEL_KEYS + OPTIONAL_KEYS)
        missing = [key for key in CONSTRAINT_MODEL_KEYS if key not in config]
        if missing:
            raise ValueError(f'{name} needs '
                             f'{", ".join(CONSTRAINT_MODEL_KEYS)} (the network you will '
                             f'retrain); missing: {", ".join(missing)}')
        return cls(**config, name=name, latency_table=latency_table)

    def use_latency_table(self, table) -> None:
        """Predict ``latency_ms`` with ``table`` from now on (a resumed search takes its
        checkpoint's table); say so when this machine would time another table."""
        from mmrnas.models.latency import LatencyTable, check_backend
        latency = self.config['latency']
        try:
            check_backend(latency['backend'], latency['device'])
            here = LatencyTable.digest(LatencyTable.fingerprint_of(
                {k: v for k, v in self.config.items() if k != 'latency'}, latency))
        except ValueError as error:
            here = f'none: {error}'
        if here != table.fingerprint_digest:
            print_log(f'latency: predicting with the stored table (fingerprint '
                      f'{table.fingerprint_digest}: {table.describe()}), not with one of this '
                      f'machine (fingerprint {here}): decisions stay those of the machine the '
                      f'search started on', 'current', logging.WARNING)
        self.latency_table = table

    def __call__(self, genotype: Genotype) -> Dict[str, Any]:
        """``{'params': ..., 'mult_adds': ...}`` (and ``'latency_ms'``) of ``genotype``'s
        network (cached)."""
        key = str(genotype)
        if key not in self._cache:
            from mmrnas.models.utils.complexity import count_mult_adds, count_parameters
            from mmrnas.models.utils.genotype_classifier import GenotypeClassifier
            config = self.config
            with torch.random.fork_rng(devices=[]):  # counting draws no numbers of the search
                model = GenotypeClassifier(genotype, config['base_channels'], config['num_cells'],
                                    config['stem'], config['num_classes'],
                                    config['in_channels'])
                size = config['input_size']
                self._cache[key] = dict(
                    params=count_parameters(model, exclude=()),
                    mult_adds=count_mult_adds(model, (config['in_channels'], size, size)))
        costs = dict(self._cache[key])
        if self.latency_table is not None:
            costs[LATENCY_KEY] = self.latency_table.predict(genotype)
        return costs

    def extremes(self) -> Dict[str, Tuple[float, float]]:
        """``{key: (smallest, largest)}`` over the search space (latency: of the table's
        prediction)."""
        extremes = {key: (self._extremes['min'][key], self._extremes['max'][key])
                    for key in ('params', 'mult_adds')}
        if self.latency_table is not None:
            extremes[LATENCY_KEY] = self.latency_table.extremes()
        return extremes
