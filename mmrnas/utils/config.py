"""Command-line overrides of configs, as the mmrnas tools apply them."""
from typing import Optional

from mmengine.config import Config

__all__ = ['merge_cfg_options']


def merge_cfg_options(cfg: Config, options: Optional[dict]) -> None:
    """Merge ``--cfg-options`` into ``cfg``.

    A config's top-level ``genotype`` feeds ``model.backbone.genotype`` when the file is
    parsed; ``--cfg-options genotype=...`` must reach the backbone as well.
    """
    if not options:
        return
    cfg.merge_from_dict(options)
    if 'genotype' in options and 'genotype' in cfg.model.get('backbone', {}):
        cfg.model.backbone.genotype = options['genotype']
