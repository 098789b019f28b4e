"""Command-line overrides of configs, as the mmrnas tools apply them, and checks of what a
config reads from disk."""
import os.path as osp
from typing import Any, Iterator, Optional, Tuple

from mmengine.config import Config

__all__ = ['check_pretrained_checkpoints', 'merge_cfg_options']


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


def _pretrained_init_cfgs(node: Any, key: str) -> Iterator[Tuple[str, dict, dict]]:
    """``(key of the init_cfg, the init_cfg, the module dict holding it)`` for every
    ``init_cfg`` of type ``Pretrained`` under ``node``, whose own key is ``key``."""
    if isinstance(node, dict):
        init_cfgs = node.get('init_cfg')
        for init_cfg in init_cfgs if isinstance(init_cfgs, list) else [init_cfgs]:
            if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
                yield f'{key}.init_cfg', init_cfg, node
        for name, value in node.items():
            yield from _pretrained_init_cfgs(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _pretrained_init_cfgs(value, f'{key}.{index}')


def check_pretrained_checkpoints(cfg: Config) -> None:
    """Fail before any work when an ``init_cfg=dict(type='Pretrained', checkpoint=PATH)`` in
    ``cfg.model`` names a local file that does not exist (URLs and ``scheme://`` names are
    MMEngine's to fetch).

    The message names the key to override, ``--cfg-options KEY.checkpoint=PATH`` or
    ``KEY=None`` (train from scratch), and, for a ``RelativeNASBackbone``, the converter that
    makes the file from the ImageNet weights (docs/transfer_guide.md).

    Raises:
        FileNotFoundError: for the first missing checkpoint.
    """
    for key, init_cfg, module in _pretrained_init_cfgs(cfg.get('model'), 'model'):
        checkpoint = init_cfg.get('checkpoint')
        if (not isinstance(checkpoint, str) or '://' in checkpoint
                or osp.isfile(osp.expanduser(checkpoint))):
            continue
        convert = ''
        if module.get('type') == 'RelativeNASBackbone':
            convert = (' make it from the ImageNet weights with `python tools/model_converters/'
                       f'relativenas_to_mmrnas.py SRC {checkpoint} --backbone-only` '
                       '(docs/transfer_guide.md),')
        raise FileNotFoundError(
            f'the pretrained checkpoint {checkpoint!r} of {key} does not exist:{convert} '
            f'point --cfg-options {key}.checkpoint=PATH at another file, or train from scratch '
            f'with --cfg-options {key}=None')
