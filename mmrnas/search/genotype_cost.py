"""Params and mult-adds of the network a genotype will be retrained as (budget-aware search)."""
from typing import Any, Dict, Tuple

import torch
import torch.nn as nn

from mmrnas.registry import TASK_UTILS
from mmrnas.structures import Genotype
from mmrnas.utils.config_keys import check_unknown_keys

__all__ = ['COST_KEYS', 'GenotypeCost']

#: The resources a search can limit or minimise.
COST_KEYS = ('params', 'mult_adds')
CONSTRAINT_MODEL_KEYS = ('base_channels', 'num_cells', 'stem', 'num_classes', 'input_size')
#: Keys of ``constraint_model`` that may be left out: the search fills them from its data.
OPTIONAL_KEYS = ('in_channels', )


def _uniform_genotype(op: str) -> Genotype:
    """Both cells with op ``op`` on every edge, each node reading the two cell inputs."""
    edges = [(op, 0), (op, 1)] * 4
    return Genotype(edges, range(2, 6), edges, range(2, 6))


class _Classifier(nn.Module):
    """RelativeNASBackbone, global average pooling and a linear classifier: the network of a
    classification retraining without its auxiliary head (which the model zoo does not count)."""

    def __init__(self, genotype: Genotype, base_channels: int, num_cells: int, stem: str,
                 num_classes: int, in_channels: int):
        super().__init__()
        from mmrnas.models.backbones.relativenas import RelativeNASBackbone
        self.backbone = RelativeNASBackbone(genotype, stem=stem, base_channels=base_channels,
                                            num_cells=num_cells, in_channels=in_channels)
        self.classifier = nn.Linear(self.backbone.out_channels[-1], num_classes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        feature = self.backbone(inputs)[-1]
        return self.classifier(feature.mean(dim=(2, 3)))


@TASK_UTILS.register_module()
class GenotypeCost:
    """Counts a genotype's network as it will be retrained, with the project's counters.

    ``params``: every parameter of the backbone and the linear classifier (the auxiliary head
    excluded, as the model zoo counts); ``mult_adds``: the reference counter
    (:func:`~mmrnas.models.utils.complexity.count_mult_adds`) on one ``input_size`` image. Both
    are computed once per genotype and cached.

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
        name (str): Where the config is (named by messages), not a setting of the network.

    Raises:
        ValueError: when the network cannot be built or run at ``input_size`` (one line).
    """

    def __init__(self, base_channels: int, num_cells: int, stem: str, num_classes: int,
                 input_size: int, in_channels: int = 3,
                 name: str = 'train_cfg.constraint_model'):
        self.config = dict(base_channels=base_channels, num_cells=num_cells, stem=stem,
                           num_classes=num_classes, input_size=input_size,
                           in_channels=in_channels)
        self._cache: Dict[str, Dict[str, int]] = {}
        try:
            self._extremes = {
                name: self(_uniform_genotype(op))
                for name, op in (('min', 'max_pool_3x3'), ('max', 'sep_conv_5x5'))
            }
        except Exception as error:  # any failure to build or run is the config's problem
            raise ValueError(f'{name}={self.config} does not build a '
                             f'network: {type(error).__name__}: {error}') from error

    @classmethod
    def from_config(cls, config: Any, name: str = 'train_cfg.constraint_model') -> 'GenotypeCost':
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
        return cls(**config, name=name)

    def __call__(self, genotype: Genotype) -> Dict[str, int]:
        """``{'params': ..., 'mult_adds': ...}`` of ``genotype``'s network (cached)."""
        key = str(genotype)
        if key not in self._cache:
            from mmrnas.models.utils.complexity import count_mult_adds, count_parameters
            config = self.config
            with torch.random.fork_rng(devices=[]):  # counting draws no numbers of the search
                model = _Classifier(genotype, config['base_channels'], config['num_cells'],
                                    config['stem'], config['num_classes'],
                                    config['in_channels'])
                size = config['input_size']
                self._cache[key] = dict(
                    params=count_parameters(model, exclude=()),
                    mult_adds=count_mult_adds(model, (config['in_channels'], size, size)))
        return dict(self._cache[key])

    def extremes(self) -> Dict[str, Tuple[int, int]]:
        """``{key: (smallest, largest)}`` over the search space."""
        return {key: (self._extremes['min'][key], self._extremes['max'][key])
                for key in COST_KEYS}
