"""Command-line overrides of configs, as the mmrnas tools apply them, and checks of what a
config reads from disk."""
import os.path as osp
from typing import Any, Iterator, List, Optional, Tuple

from mmengine.config import Config

__all__ = [
    'BACKBONE_TYPES', 'backbone_cfgs', 'check_pretrained_checkpoints', 'iter_module_cfgs',
    'merge_cfg_options'
]


#: How configs name the backbone: bare (it is also in MMEngine's root registry, so every
#: toolbox resolves it) or with the ``mmrnas`` scope (see :mod:`mmrnas.registry`).
BACKBONE_TYPES = ('RelativeNASBackbone', 'mmrnas.RelativeNASBackbone')


def iter_module_cfgs(node: Any, key: str = 'model') -> Iterator[Tuple[str, dict]]:
    """``(dotted key, dict)`` of ``node`` and of every dict nested in it (through dicts,
    lists and tuples), parents first: ``('model', ...)``, ``('model.backbone', ...)``."""
    if isinstance(node, dict):
        yield key, node
        for name, value in node.items():
            yield from iter_module_cfgs(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from iter_module_cfgs(value, f'{key}.{index}')


def backbone_cfgs(model: Any) -> List[dict]:
    """Every ``RelativeNASBackbone`` config under ``model``, named bare or scoped, wherever
    it sits (``model.backbone``, or ``model.backbone.backbone_cfg`` in BiSeNetV1)."""
    return [cfg for _, cfg in iter_module_cfgs(model) if cfg.get('type') in BACKBONE_TYPES]


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
        for backbone in backbone_cfgs(cfg.model):
            backbone['genotype'] = options['genotype']


def _pretrained_init_cfgs(model: Any) -> Iterator[Tuple[str, dict, dict]]:
    """``(key of the init_cfg, the init_cfg, the module dict holding it)`` for every
    ``init_cfg`` of type ``Pretrained`` under ``model``."""
    for key, module in iter_module_cfgs(model):
        init_cfgs = module.get('init_cfg')
        for init_cfg in init_cfgs if isinstance(init_cfgs, list) else [init_cfgs]:
            if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
                yield f'{key}.init_cfg', init_cfg, module


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
    for key, init_cfg, module in _pretrained_init_cfgs(cfg.get('model')):
        checkpoint = init_cfg.get('checkpoint')
        if (not isinstance(checkpoint, str) or '://' in checkpoint
                or osp.isfile(osp.expanduser(checkpoint))):
            continue
        convert = ''
        if module.get('type') in BACKBONE_TYPES:
            convert = (' make it from the ImageNet weights with `python tools/model_converters/'
                       f'relativenas_to_mmrnas.py SRC {checkpoint} --backbone-only` '
                       '(docs/transfer_guide.md),')
        raise FileNotFoundError(
            f'the pretrained checkpoint {checkpoint!r} of {key} does not exist:{convert} '
            f'point --cfg-options {key}.checkpoint=PATH at another file, or train from scratch '
            f'with --cfg-options {key}=None')
