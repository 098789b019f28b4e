"""Command-line overrides of configs, as the mmrnas tools apply them."""
from typing import Any, Optional

from mmengine.config import Config

__all__ = ['merge_cfg_options']


def _set_backbone_genotypes(node: Any, genotype: Any) -> int:
    """Set ``genotype`` in every ``RelativeNASBackbone`` dict under ``node``; return how many."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') == 'RelativeNASBackbone':
            node['genotype'] = genotype
            count += 1
        for value in node.values():
            count += _set_backbone_genotypes(value, genotype)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += _set_backbone_genotypes(value, genotype)
    return count


def merge_cfg_options(cfg: Config, options: Optional[dict]) -> None:
    """Merge ``--cfg-options`` into ``cfg``.

    A config's top-level ``genotype`` feeds its backbone when the file is parsed, so
    ``--cfg-options genotype=...`` is also written into every ``RelativeNASBackbone`` of
    ``cfg.model``, wherever it sits (``model.backbone``, or
    ``model.backbone.backbone_cfg`` in BiSeNetV1).
    """
    if not options:
        return
    cfg.merge_from_dict(options)
    if 'genotype' in options and 'model' in cfg:
        _set_backbone_genotypes(cfg.model, options['genotype'])
