"""Generate, or check, the model zoo tables, the OpenMMLab metafiles and ``model-index.yml``.

Usage: python tools/analysis_tools/model_zoo.py [--check] [--device meta|cpu] [--json]

For every config in the zoo (:data:`ENTRIES`) it builds the model on the CPU (SyncBN reverted to
BN, ``Pretrained`` init configs dropped, so nothing is downloaded or loaded), counts

- parameters: all of them, the paper's convention (classification: auxiliary head excluded,
  as the reference's ``count_parameters_in_MB``; transfer models: the whole model, as the
  reference counts them with the backbone classifier removed) and the backbone alone;
- mult-adds with mmrnas's reference counter, ``mmrnas.models.utils.complexity.count_mult_adds``
  (the RelativeNAS rule, docs/reference.md §8: one image, ``nn.Conv2d`` and ``nn.Linear`` only, one
  multiply-add = 1), at the input size of each task (CIFAR 32x32, ImageNet 224x224, SSDLite
  320x320, BiSeNet 1024x1024, SimpleBaseline 256x192 (h x w), digits 16x16);

and writes

- the tables of ``model_zoo.md`` between ``<!-- zoo:begin:SECTION -->`` and
  ``<!-- zoo:end -->`` (the text outside the markers is written by hand);
- ``configs/{retrain,detection,segmentation,pose}/metafile.yml`` (OpenMMLab metafile format);
- ``model-index.yml`` (``Import:`` of the metafiles).

``--check`` writes nothing and exits with status 1 when a generated file differs from what
is on disk (the test suite runs it).

The mult-adds are counted with the model on PyTorch's ``meta`` device by default: the hooks
see the same output shapes without computing anything (BiSeNet at 1024x1024 takes about a
second instead of 10-25 s on two CPU cores). ``--device cpu`` runs the real forward pass; both
give identical counts for every model here (checked by tests/test_model_zoo.py on one model).
"""
import argparse
import copy
import difflib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import yaml
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, DefaultScope
from torch import nn

from mmrnas.models.utils.complexity import count_mult_adds, count_parameters, forward_tensor
from mmrnas.utils.config import merge_cfg_options

ROOT = Path(__file__).resolve().parents[2]
MODEL_ZOO = 'model_zoo.md'
MODEL_INDEX = 'model-index.yml'
TOOL = 'tools/analysis_tools/model_zoo.py'
COUNTER = ('mmrnas reference counter (`mmrnas.models.utils.complexity.count_mult_adds`: '
           'the RelativeNAS rule, `nn.Conv2d` + `nn.Linear` only, one image, one '
           'multiply-add = 1)')
PAPER = dict(
    Title='RelativeNAS: Relative Neural Architecture Search via Slow-Fast Learning',
    URL='https://doi.org/10.1109/TNNLS.2021.3096658')
SECTIONS = ('search', 'cifar10', 'cifar100', 'imagenet', 'voc', 'cityscapes', 'coco', 'digits')
BEGIN = '<!-- zoo:begin:{} -->'
END = '<!-- zoo:end -->'

# ---------------------------------------------------------------------------------------------
# The zoo
# ---------------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One model of the zoo.

    Args:
        name: Model name (the config file stem, or a stem plus a variant suffix).
        section: Table of model_zoo.md it belongs to (one of :data:`SECTIONS`).
        config: Config path relative to the repository root.
        title: What the model is, for the table.
        genotype: Genotype of the backbone, for the table.
        shape: Input ``(H, W)`` of the mult-add count; None: no count (search weight sets).
        params_rule: ``'aux_excluded'`` (classification: names containing ``aux`` left out,
            the reference's convention), ``'all'`` (transfer models, search weight sets).
        backbone: Attribute path of the ``RelativeNASBackbone`` inside the model; None for
            the search weight sets.
        forward: ``'tensor'`` (the model's tensor forward) or ``'all_heads'`` (mmseg: decode
            head and every auxiliary head, as the reference counts BiSeNet in train mode).
        cfg_options: ``--cfg-options`` applied before building (baseline variants).
        metafile: ``configs/<metafile>/metafile.yml`` holding it; None: not in a metafile.
        reported: Reported by the paper, by column; text.
        chk: The reference code's own counts (docs/reference.md §7-8, "CHK"), for the comparison:
            ``params`` / ``params_all`` as exact ints or ``(value, unit, decimals)``,
            ``mult_adds`` as ``(value, unit, decimals)``.
        chk_note: Why a count differs from the reference code, when it does.
        meta: Extra metafile fields: ``collection``, ``task``, ``dataset``, ``metrics``,
            ``metadata``, ``reported`` (True: the Results are the paper's).
    """
    name: str
    section: str
    config: str
    title: str
    genotype: str = 'RelativeNAS'
    shape: Optional[Tuple[int, int]] = None
    params_rule: str = 'all'
    backbone: Optional[str] = 'backbone'
    forward: str = 'tensor'
    cfg_options: Dict[str, object] = field(default_factory=dict)
    metafile: Optional[str] = None
    reported: Dict[str, str] = field(default_factory=dict)
    chk: Dict[str, object] = field(default_factory=dict)
    chk_note: str = ''
    meta: Dict[str, object] = field(default_factory=dict)


RETRAIN = 'configs/retrain/'
CLS_COLLECTION = 'RelativeNAS'
ENTRIES: List[Entry] = [
    # ----------------------------------------------------------------------------- search
    Entry(
        name='rnas_cifar10',
        section='search',
        config='configs/rnas_cifar10.py',
        title='paper protocol: CIFAR-10 50k train split 25k / 25k, population 20, '
        '50 generations, C16 L8',
        genotype='(searches one)',
        backbone=None,
        reported=dict(cost='9 h on one GTX 1080 Ti (about 0.4 GPU-days)',
                      result='the published `RelativeNAS` genotype'),
        chk=dict(params=1_987_194)),
    Entry(
        name='rnas_quickstart',
        section='search',
        config='configs/rnas_quickstart.py',
        title='quickstart: scikit-learn digits 8x8, population 8, 5 generations, C8 L5',
        genotype='(searches one)',
        backbone=None,
        reported=dict(cost='— (not in the paper)', result='—')),
    # ----------------------------------------------------------------------------- CIFAR-10
    Entry(
        name='rnas_c36l20_1xb128-600e_cifar10',
        section='cifar10',
        config=RETRAIN + 'rnas_c36l20_1xb128-600e_cifar10.py',
        title='RelativeNAS, C36 L20',
        shape=(32, 32),
        params_rule='aux_excluded',
        metafile='retrain',
        reported=dict(metric='2.26 % top-1 error', params='3.93 M'),
        chk=dict(params=3_928_222, params_all=4_404_648, mult_adds=(616.83, 'M', 2)),
        meta=dict(
            collection=CLS_COLLECTION,
            task='Image Classification',
            dataset='CIFAR-10',
            metrics={'Top 1 Error': 2.26},
            metadata={'Training Data': 'CIFAR-10', 'Epochs': 600, 'Batch Size': 128},
            reported=True)),
    Entry(
        name='darts-v2_c36l20_cifar10',
        section='cifar10',
        config=RETRAIN + 'rnas_c36l20_1xb128-600e_cifar10.py',
        title='baseline: DARTS (2nd order) cell in the same config',
        genotype='DARTS_V2',
        shape=(32, 32),
        params_rule='aux_excluded',
        cfg_options={'genotype': 'DARTS_V2'},
        reported=dict(metric='not in the RelativeNAS paper text we have (DARTS README: '
                      '2.76 ± 0.09 %)', params='DARTS README: 3.3 M')),
    # ----------------------------------------------------------------------------- CIFAR-100
    Entry(
        name='rnas_c36l20_1xb128-600e_cifar100',
        section='cifar100',
        config=RETRAIN + 'rnas_c36l20_1xb128-600e_cifar100.py',
        title='RelativeNAS, C36 L20 (the CIFAR-10-searched cell)',
        shape=(32, 32),
        params_rule='aux_excluded',
        metafile='retrain',
        reported=dict(metric='15.86 % top-1 error', params='3.98 M'),
        chk=dict(params=3_980_152),
        meta=dict(
            collection=CLS_COLLECTION,
            task='Image Classification',
            dataset='CIFAR-100',
            metrics={'Top 1 Error': 15.86},
            metadata={'Training Data': 'CIFAR-100', 'Epochs': 600, 'Batch Size': 128},
            reported=True)),
    # ----------------------------------------------------------------------------- ImageNet
    Entry(
        name='rnas_c46l14_8xb128-250e_in1k',
        section='imagenet',
        config=RETRAIN + 'rnas_c46l14_8xb128-250e_in1k.py',
        title='RelativeNAS, C46 L14 (mobile setting)',
        shape=(224, 224),
        params_rule='aux_excluded',
        metafile='retrain',
        reported=dict(metric='24.88 % / 7.7 % top-1 / top-5 error', params='5.05 M',
                      mult_adds='not retrievable'),
        chk=dict(params=5_050_029, params_all=6_306_709, mult_adds=(562.97, 'M', 2)),
        meta=dict(
            collection=CLS_COLLECTION,
            task='Image Classification',
            dataset='ImageNet-1k',
            metrics={'Top 1 Error': 24.88, 'Top 5 Error': 7.7},
            metadata={'Training Data': 'ImageNet-1k', 'Epochs': 250, 'Batch Size': 1024},
            reported=True)),
    Entry(
        name='darts-v2_c48l14_in1k',
        section='imagenet',
        config=RETRAIN + 'rnas_c46l14_8xb128-250e_in1k.py',
        title='baseline: DARTS (2nd order) cell, C48 L14, in the same config',
        genotype='DARTS_V2',
        shape=(224, 224),
        params_rule='aux_excluded',
        cfg_options={
            'genotype': 'DARTS_V2',
            'model.backbone.base_channels': 48,
            'model.head.in_channels': 768,
            'model.head.aux_in_channels': 768,
        },
        reported=dict(metric='not in the RelativeNAS paper text we have (DARTS README: '
                      '26.7 % / 8.7 %)', params='DARTS README: 4.7 M',
                      mult_adds='DARTS README: 574 M'),
        chk=dict(mult_adds=(529.9, 'M', 1)),
        chk_note='The published 574 M of DARTS comes from another counter; docs/reference.md '
        '§7.2 compares within one counter only.'),
    # ----------------------------------------------------------------------------- VOC
    Entry(
        name='ssdlite_rnas-c46l14_8xb32-200e_voc0712-320',
        section='voc',
        config='configs/detection/ssdlite_rnas-c46l14_8xb32-200e_voc0712-320.py',
        title='SSDLite + RelativeNAS C46 L14, 320x320 (mmdet)',
        shape=(320, 320),
        metafile='detection',
        reported=dict(metric='73.1 mAP (VOC07 test, 11-point)'),
        chk=dict(params=(5.0698, 'M', 4), mult_adds=(1202.97, 'M', 2)),
        meta=dict(
            collection='RelativeNAS-SSDLite',
            task='Object Detection',
            dataset='PASCAL VOC 2007 test',
            metrics={'mAP': 73.1},
            metadata={'Training Data': 'VOC2007 trainval + VOC2012 trainval', 'Epochs': 200,
                      'Batch Size': 32},
            reported=True)),
    # ----------------------------------------------------------------------------- Cityscapes
    Entry(
        name='bisenetv1_rnas-c46l14_2xb8-80k_cityscapes-1024x1024',
        section='cityscapes',
        config='configs/segmentation/bisenetv1_rnas-c46l14_2xb8-80k_cityscapes-1024x1024.py',
        title='BiSeNet V1 + RelativeNAS C46 L14 context path, 1024x1024 (mmseg)',
        shape=(1024, 1024),
        backbone='backbone.context_path.backbone',
        forward='all_heads',
        metafile='segmentation',
        reported=dict(metric='78.7 mIoU (78.1 on the EMI blog post; Cityscapes val)'),
        chk=dict(params=6_944_645, mult_adds=(35.35, 'G', 2)),
        chk_note='mmseg\'s three `conv_seg` classifiers have a bias (19 each), the '
        'reference\'s `conv_out` has none.',
        meta=dict(
            collection='RelativeNAS-BiSeNetV1',
            task='Semantic Segmentation',
            dataset='Cityscapes',
            metrics={'mIoU': 78.7},
            metadata={'Training Data': 'Cityscapes', 'Iterations': 80000, 'Batch Size': 16,
                      'Note': 'the abstracts report 78.7 mIoU, the EMI blog post 78.1 '
                      '(unresolved; docs/reference.md §7.1)'},
            reported=True)),
    # ----------------------------------------------------------------------------- COCO
    Entry(
        name='td-hm_rnas-c46l14_1xb128-140e_coco-256x192',
        section='coco',
        config='configs/pose/td-hm_rnas-c46l14_1xb128-140e_coco-256x192.py',
        title='SimpleBaseline + RelativeNAS C46 L14, 256x192 (mmpose)',
        shape=(256, 192),
        metafile='pose',
        reported=dict(metric='68.5 AP (COCO val2017, ground-truth boxes, flip test)'),
        chk=dict(params=(9.4307, 'M', 4), mult_adds=(564.19, 'M', 2)),
        meta=dict(
            collection='RelativeNAS-SimpleBaseline',
            task='Body 2D Keypoint',
            dataset='COCO',
            metrics={'AP': 68.5},
            metadata={'Training Data': 'COCO train2017', 'Epochs': 140, 'Batch Size': 128},
            reported=True)),
    # ----------------------------------------------------------------------------- digits
    Entry(
        name='rnas_c8l5_1xb64-12e_digits-16',
        section='digits',
        config=RETRAIN + 'rnas_c8l5_1xb64-12e_digits-16.py',
        title='RelativeNAS, C8 L5, 16x16, CPU-sized',
        shape=(16, 16),
        params_rule='aux_excluded',
        metafile='retrain',
        reported=dict(metric='— (not in the paper)'),
        meta=dict(
            collection=CLS_COLLECTION,
            task='Image Classification',
            dataset='scikit-learn digits (297 test images)',
            metrics={'Top 1 Accuracy': 95.96},
            metadata={'Training Data': 'scikit-learn digits (1500 train images)',
                      'Epochs': 12, 'Batch Size': 64,
                      'Results Source': 'measured by mmrnas (2-core AMD EPYC CPU, PyTorch '
                      '2.14.1, commit e4575db): python tools/train.py '
                      'configs/retrain/rnas_c8l5_1xb64-12e_digits-16.py'},
            reported=False)),
]

COLLECTIONS = {
    'retrain': [
        dict(
            Name=CLS_COLLECTION,
            Metadata={
                'Training Techniques': [
                    'SGD with Momentum', 'Weight Decay', 'Auxiliary Head', 'Drop Path',
                    'Cutout', 'Label Smoothing'
                ],
                'Architecture': ['RelativeNAS cell (DARTS-style)', 'Auxiliary Head'],
                'Search Config': 'configs/rnas_cifar10.py',
                'Search Cost': '9 h on one GTX 1080 Ti (reported by the paper)',
            },
            Paper=PAPER,
            README=MODEL_ZOO)
    ],
    'detection': [
        dict(
            Name='RelativeNAS-SSDLite',
            Metadata={
                'Training Techniques': ['SGD with Momentum', 'Weight Decay', 'Cosine LR'],
                'Architecture': ['RelativeNAS backbone (C46 L14)', 'SSDLite'],
            },
            Paper=PAPER,
            README=MODEL_ZOO)
    ],
    'segmentation': [
        dict(
            Name='RelativeNAS-BiSeNetV1',
            Metadata={
                'Training Techniques': ['SGD with Momentum', 'Weight Decay', 'Poly LR', 'OHEM'],
                'Architecture': ['RelativeNAS backbone (C46 L14)', 'BiSeNet V1'],
            },
            Paper=PAPER,
            README=MODEL_ZOO)
    ],
    'pose': [
        dict(
            Name='RelativeNAS-SimpleBaseline',
            Metadata={
                'Training Techniques': ['Adam', 'MultiStep LR'],
                'Architecture': ['RelativeNAS backbone (C46 L14)', 'SimpleBaseline (deconv head)'],
            },
            Paper=PAPER,
            README=MODEL_ZOO)
    ],
}
METAFILES = tuple(COLLECTIONS)


def metafile_path(group: str) -> str:
    return f'configs/{group}/metafile.yml'


# ---------------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------------


def _drop_pretrained(node) -> None:
    """Set every ``init_cfg`` of type ``Pretrained`` in a config tree to None, in place."""
    if isinstance(node, dict):
        init_cfg = node.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            node['init_cfg'] = None
        for value in node.values():
            _drop_pretrained(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_pretrained(value)


def build_model(entry: Entry, root: Path = ROOT) -> nn.Module:
    """The model of ``entry``'s config on the CPU, with BN for SyncBN and no pretrained
    loading (``Pretrained`` init configs dropped; ``init_weights`` is never called)."""
    cfg = Config.fromfile(str(root / entry.config))
    merge_cfg_options(cfg, copy.deepcopy(entry.cfg_options))
    _drop_pretrained(cfg.model)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmrnas')):
        model = MODELS.build(cfg.model)
    return revert_sync_batchnorm(model).eval()


def _all_heads_forward(model: nn.Module, inputs: torch.Tensor):
    """mmseg: the decode head and every auxiliary head on the extracted features (the
    reference counts BiSeNet in train mode, where its three heads run)."""
    feats = model.extract_feat(inputs)
    outputs = [model.decode_head(feats)]
    auxiliary = model.auxiliary_head
    for head in (auxiliary if isinstance(auxiliary, nn.ModuleList) else [auxiliary]):
        outputs.append(head(feats))
    return outputs


FORWARDS: Dict[str, Callable] = dict(tensor=forward_tensor, all_heads=_all_heads_forward)


def _uncounted_transposed_convs(model: nn.Module, shape, forward: Callable) -> int:
    """Mult-adds of the ``nn.ConvTranspose2d`` layers, which the reference rule does not count
    (k_h * k_w * C_in * C_out / groups per input pixel)."""
    total = 0

    def hook(module, inputs, _output):
        nonlocal total
        k_h, k_w = module.kernel_size
        h_in, w_in = inputs[0].shape[-2:]
        total += (k_h * k_w * module.in_channels * module.out_channels // module.groups * h_in *
                  w_in)

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, nn.ConvTranspose2d)]
    if not handles:
        return 0
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            forward(model, torch.zeros(1, *shape, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return total


def _get(module: nn.Module, path: str) -> nn.Module:
    for name in path.split('.'):
        module = getattr(module, name)
    return module


def count_entry(entry: Entry, device: str = 'meta', root: Path = ROOT) -> dict:
    """Build ``entry``'s model and count it.

    Returns:
        dict: ``params_all``, ``params`` (the paper's convention, see
        :attr:`Entry.params_rule`), ``params_backbone``, and with an input shape
        ``mult_adds``, ``mult_adds_backbone`` (the backbone alone on the same image) and
        ``uncounted_deconv`` (see :func:`_uncounted_transposed_convs`).
    """
    model = build_model(entry, root)
    exclude = ('aux', ) if entry.params_rule == 'aux_excluded' else ()
    result = dict(
        params_all=count_parameters(model, exclude=()),
        params=count_parameters(model, exclude=exclude))
    backbone = None if entry.backbone is None else _get(model, entry.backbone)
    if backbone is not None:
        result['params_backbone'] = count_parameters(backbone, exclude=())
    if entry.shape is not None:
        shape = (3, *entry.shape)
        model.to(device)
        forward = FORWARDS[entry.forward]
        result['mult_adds'] = count_mult_adds(model, shape, forward=forward)
        if backbone is not None:
            result['mult_adds_backbone'] = count_mult_adds(
                backbone, shape, forward=lambda m, x: m(x))
        result['uncounted_deconv'] = _uncounted_transposed_convs(model, shape, forward)
    return result


def compute_all(device: str = 'meta', root: Path = ROOT,
                entries: Sequence[Entry] = ENTRIES) -> Dict[str, dict]:
    """:func:`count_entry` for every entry, by name."""
    return {entry.name: count_entry(entry, device, root) for entry in entries}


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------

_UNITS = dict(M=1e6, G=1e9)


def _int(value: int) -> str:
    return f'{value:,}'


def _millions(value: int) -> str:
    return f'{value / 1e6:,.2f} M'


def _chk_text(value) -> str:
    if isinstance(value, int):
        return _int(value)
    number, unit, decimals = value
    return f'{number:.{decimals}f} {unit}'


def _matches(ours: int, chk) -> bool:
    """Whether ``ours`` equals the reference code's count to the precision it is given in."""
    if isinstance(chk, int):
        return ours == chk
    number, unit, decimals = chk
    return round(ours / _UNITS[unit], decimals) == round(number, decimals)


def comparison(entry: Entry, result: dict) -> str:
    """'yes' / 'no (...)' per counted quantity against the reference code's counts."""
    parts = []
    for key, label in (('params', 'params'), ('params_all', 'params with aux'),
                       ('mult_adds', 'mult-adds')):
        if key not in entry.chk or key not in result:
            continue
        chk = entry.chk[key]
        if _matches(result[key], chk):
            parts.append(f'{label}: yes ({_chk_text(chk)})')
        else:
            diff = (f'{result[key] - chk:+,}' if isinstance(chk, int) else
                    f'{result[key] / _UNITS[chk[1]] - chk[0]:+.{chk[2]}f} {chk[1]}')
            parts.append(f'{label}: no, {_chk_text(chk)} ({diff})')
    text = '; '.join(parts) if parts else '—'
    if entry.chk_note:
        text += f'. {entry.chk_note}'
    return text


def _row(cells: Sequence[str]) -> str:
    return '| ' + ' | '.join(cells) + ' |'


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    return [_row(header), _row(['---'] * len(header))] + [_row(row) for row in rows]


def _config_link(entry: Entry) -> str:
    link = f'[`{Path(entry.config).name}`]({entry.config})'
    if entry.cfg_options:
        options = ' '.join(f'{k}={v}' for k, v in entry.cfg_options.items())
        link += f' with `--cfg-options {options}`'
    return link


def _mult_adds_cell(result: dict) -> str:
    text = _millions(result['mult_adds'])
    if result['mult_adds'] >= 1e10:
        text += f' ({result["mult_adds"] / 1e9:.2f} G)'
    return text


def render_section(section: str, results: Dict[str, dict]) -> str:
    """The generated Markdown of one model_zoo.md section (between its markers)."""
    entries = [e for e in ENTRIES if e.section == section]
    lines: List[str] = []
    if section == 'search':
        header = ['config', 'what', 'weight set (supernet) params, measured by mmrnas',
                  'search cost, reported by the paper', 'result, reported by the paper']
        rows = [[_config_link(e), e.title, _int(results[e.name]['params_all']),
                 e.reported.get('cost', '—'), e.reported.get('result', '—')] for e in entries]
        lines += _table(header, rows)
        lines += ['', 'The weight set holds every op of every edge (7 ops x 14 edges per cell) '
                  'plus stem, preprocessing layers and classifier; a candidate uses a '
                  'subset, so no single mult-add count applies.']
    elif section in ('cifar10', 'cifar100', 'imagenet', 'digits'):
        shape = 'x'.join(map(str, entries[0].shape))
        header = ['model', 'genotype', 'config', 'metric, reported by the paper',
                  'params / mult-adds, reported by the paper',
                  'params (auxiliary head excluded), measured by mmrnas',
                  'params (all), measured by mmrnas',
                  f'mult-adds ({shape}), measured by mmrnas',
                  'equal to the reference code\'s count (CHK)?']
        rows = []
        for e in entries:
            r = results[e.name]
            reported = ' / '.join(e.reported[k] for k in ('params', 'mult_adds')
                                  if k in e.reported) or '—'
            rows.append([e.title, f'`{e.genotype}`', _config_link(e),
                         e.reported.get('metric', '—'), reported, _int(r['params']),
                         _int(r['params_all']), _mult_adds_cell(r), comparison(e, r)])
        lines += _table(header, rows)
    else:
        shape = 'x'.join(map(str, entries[0].shape))
        header = ['model', 'genotype', 'config', 'metric, reported by the paper',
                  'params / mult-adds of the reference code (CHK)',
                  'params (whole model), measured by mmrnas', 'params (backbone)',
                  f'mult-adds ({shape}), measured by mmrnas', 'mult-adds of the backbone',
                  'equal to the reference code\'s count?']
        rows = []
        for e in entries:
            r = results[e.name]
            chk = ' / '.join(_chk_text(e.chk[k]) for k in ('params', 'mult_adds')
                             if k in e.chk)
            rows.append([e.title, f'`{e.genotype}`', _config_link(e),
                         e.reported.get('metric', '—'), chk, _int(r['params_all']),
                         _int(r['params_backbone']), _mult_adds_cell(r),
                         _millions(r['mult_adds_backbone']), comparison(e, r)])
        lines += _table(header, rows)
        deconv = [(e, results[e.name]['uncounted_deconv']) for e in entries
                  if results[e.name].get('uncounted_deconv')]
        for e, value in deconv:
            lines += ['', f'Not counted, by the reference rule as by ours: the '
                      f'`nn.ConvTranspose2d` layers (the deconvolution head), '
                      f'{_millions(value)} more.']
    if entries[0].shape is not None:
        lines += ['', f'Mult-adds: {COUNTER}, model in eval mode'
                  + (', with the decode head and both auxiliary heads run (the reference '
                     'counts BiSeNet in train mode, where all three run)'
                     if any(e.forward == 'all_heads' for e in entries) else '') + '.']
    return '\n'.join(lines)


def render_model_zoo(text: str, results: Dict[str, dict]) -> str:
    """``text`` (model_zoo.md) with every marked section regenerated.

    Raises:
        ValueError: If a section's markers are missing.
    """
    for section in SECTIONS:
        begin = BEGIN.format(section)
        pattern = re.compile(re.escape(begin) + r'\n.*?' + re.escape(END), re.S)
        if not pattern.search(text):
            raise ValueError(f'{MODEL_ZOO} has no "{begin} ... {END}" block')
        body = (f'{begin}\n<!-- generated by {TOOL}; edit the tool, not this table -->\n'
                f'{render_section(section, results)}\n{END}')
        text = pattern.sub(lambda _: body, text, count=1)
    return text


def _metafile_model(entry: Entry, result: dict) -> dict:
    meta = entry.meta
    metadata = dict(meta.get('metadata', {}))
    counted = (f'mult-adds, mmrnas reference counter (RelativeNAS rule: conv + linear), input '
               f'1x3x{entry.shape[0]}x{entry.shape[1]}')
    if result.get('uncounted_deconv'):
        counted += (f'; nn.ConvTranspose2d not counted (as in the reference), it would add '
                    f'{result["uncounted_deconv"]}')
    metadata.update({
        'Parameters': result['params'],
        'Parameters Counted':
        ('auxiliary head excluded (the paper convention)'
         if entry.params_rule == 'aux_excluded' else 'the whole model (the paper convention)'),
        'FLOPs': result['mult_adds'],
        'FLOPs Counted': counted,
        'Genotype': entry.genotype,
        'Reported by the paper': bool(meta['reported']),
    })
    return {
        'Name': entry.name,
        'In Collection': meta['collection'],
        'Config': entry.config,
        'Metadata': metadata,
        'Results': [{
            'Task': meta['task'],
            'Dataset': meta['dataset'],
            'Metrics': dict(meta['metrics']),
        }],
    }


def render_metafile(group: str, results: Dict[str, dict]) -> str:
    entries = [e for e in ENTRIES if e.metafile == group]
    data = dict(Collections=COLLECTIONS[group],
                Models=[_metafile_model(e, results[e.name]) for e in entries])
    header = (f'# Generated by {TOOL} (do not edit; `--check` keeps it current).\n'
              '# Metadata.Parameters and Metadata.FLOPs (mult-adds) are computed by mmrnas.\n'
              '# Results are the numbers REPORTED BY THE PAPER (README / abstracts of\n'
              '# RelativeNAS) where "Reported by the paper: true"; mmrnas has not measured\n'
              '# them. "Reported by the paper: false" marks results measured by mmrnas\n'
              '# ("Results Source" says where).\n')
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def render_model_index() -> str:
    return (f'# Generated by {TOOL}.\n' +
            yaml.safe_dump({'Import': [metafile_path(g) for g in METAFILES]}, sort_keys=False))


def render_all(results: Dict[str, dict], root: Path = ROOT) -> Dict[str, str]:
    """Every generated file, path (relative to ``root``) -> content."""
    files = {MODEL_ZOO: render_model_zoo((root / MODEL_ZOO).read_text(), results)}
    for group in METAFILES:
        files[metafile_path(group)] = render_metafile(group, results)
    files[MODEL_INDEX] = render_model_index()
    return files


def stale_files(results: Dict[str, dict], root: Path = ROOT) -> Dict[str, str]:
    """Generated files whose content on disk differs, path -> unified diff (disk -> new)."""
    stale = {}
    for path, content in render_all(results, root).items():
        target = root / path
        current = target.read_text() if target.is_file() else ''
        if current != content:
            stale[path] = ''.join(difflib.unified_diff(
                current.splitlines(True), content.splitlines(True), f'{path} (on disk)',
                f'{path} (generated)', n=1))
    return stale


def write_all(results: Dict[str, dict], root: Path = ROOT) -> List[str]:
    """Write the generated files that changed; returns their paths."""
    written = []
    for path, content in render_all(results, root).items():
        target = root / path
        if not target.is_file() or target.read_text() != content:
            target.write_text(content)
            written.append(path)
    return written


# ---------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate (or --check) model_zoo.md tables, metafiles and model-index.yml.')
    parser.add_argument('--check', action='store_true',
                        help='write nothing; exit 1 if a generated file is out of date')
    parser.add_argument('--device', choices=('meta', 'cpu'), default='meta',
                        help='device of the mult-add forward pass (meta: shapes only, same '
                        'counts, much faster); default meta')
    parser.add_argument('--json', action='store_true', help='also print the counts as JSON')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    results = compute_all(args.device)
    if args.json:
        print(json.dumps(results, indent=1))
    print(f'mult-adds counter: {COUNTER}; mult-add forward on the {args.device} device')
    for entry in ENTRIES:
        r = results[entry.name]
        text = f'{entry.name}: params {_int(r["params"])} (all {_int(r["params_all"])})'
        if 'mult_adds' in r:
            text += f', mult-adds {_millions(r["mult_adds"])}'
        print(text)
    if args.check:
        stale = stale_files(results)
        for path, diff in stale.items():
            print(f'model_zoo: {path} is out of date; run python {TOOL}\n{diff}',
                  file=sys.stderr)
        if stale:
            return 1
        print('model_zoo: every generated file is up to date')
        return 0
    written = write_all(results)
    print('model_zoo: wrote ' + (', '.join(written) if written else 'nothing (up to date)'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
