"""Check the model zoo's metafiles against the configs; generate the model_zoo.md tables and
``model-index.yml`` from them.

Usage: python tools/analysis_tools/model_zoo.py [--check] [--device meta|cpu] [--json]

The metafiles (``configs/metafile.yml`` for the searches, ``configs/*/metafile.yml``; OpenMMLab
format, written by hand) are the source of truth: each model's ``Config`` (and ``Config
Options``), ``Metadata`` (counts included), ``Results`` and its model_zoo.md row (``Model Zoo``:
table, title, the paper's numbers as text, the reference code's counts). For every model the
tool builds the config on the CPU (SyncBN reverted to BN, ``Pretrained`` init configs dropped,
so nothing is downloaded or loaded) and counts

- parameters: all of them and the metafile's convention (``Parameters Counted``; classification:
  auxiliary head excluded, as the reference's ``count_parameters_in_MB``; transfer models: the
  whole model, as the reference counts them with the backbone classifier removed), and the
  ``RelativeNASBackbone`` alone;
- mult-adds with mmrnas's reference counter, ``mmrnas.models.utils.complexity.count_mult_adds``
  (the RelativeNAS rule, docs/reference.md §8: one image, ``nn.Conv2d`` and ``nn.Linear`` only, one
  multiply-add = 1), at the metafile's ``Input Size``; for an mmseg model with auxiliary heads,
  every head runs (the reference counts BiSeNet in train mode);

checks ``Metadata.Parameters``, ``FLOPs`` and ``FLOPs Not Counted (ConvTranspose2d)`` against
these counts (a difference names the model and both values: edit the metafile) and writes

- the tables of ``model_zoo.md`` between ``<!-- zoo:begin:SECTION -->`` and
  ``<!-- zoo:end -->`` (the text outside the markers is written by hand);
- ``model-index.yml`` (``Import:`` of the metafiles).

It writes nothing while a count differs. ``--check`` writes nothing and exits with status 1
when a count differs or a generated file is out of date (the test suite runs it).

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
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import yaml
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, DefaultScope
from torch import nn

from mmrnas.models import RelativeNASBackbone
from mmrnas.models.utils.complexity import count_mult_adds, count_parameters, forward_tensor
from mmrnas.utils.cli import load_config, model_in_channels
from mmrnas.utils.install_level import FullInstallRequired

ROOT = Path(__file__).resolve().parents[2]
MODEL_ZOO = 'model_zoo.md'
MODEL_INDEX = 'model-index.yml'
TOOL = 'tools/analysis_tools/model_zoo.py'
COUNTER = ('mmrnas reference counter (`mmrnas.models.utils.complexity.count_mult_adds`: '
           'the RelativeNAS rule, `nn.Conv2d` + `nn.Linear` only, one image, one '
           'multiply-add = 1)')
SECTIONS = ('search', 'cifar10', 'cifar100', 'imagenet', 'voc', 'cityscapes', 'coco', 'digits',
            'fashion_mnist')
BEGIN = '<!-- zoo:begin:{} -->'
END = '<!-- zoo:end -->'
#: ``Metadata.Parameters Counted`` -> parameter-name fragments left out of ``Parameters``.
PARAMS_COUNTED: Dict[str, Tuple[str, ...]] = {
    'auxiliary head excluded (the paper convention)': ('aux', ),
    'the whole model (the paper convention)': (),
    'the whole weight set': (),
}
#: ``Metadata`` count -> key of :func:`count_entry`'s result.
CHECKED_COUNTS = (('Parameters', 'params'), ('FLOPs', 'mult_adds'),
                  ('FLOPs Not Counted (ConvTranspose2d)', 'uncounted_deconv'))
_UNITS = dict(M=1e6, G=1e9)

#: A reference-code count: exact, or ``(value, unit, decimals)`` as given (e.g. ``'5.0698 M'``).
ChkValue = Union[int, Tuple[float, str, int]]

# ---------------------------------------------------------------------------------------------
# The zoo, read from the metafiles
# ---------------------------------------------------------------------------------------------


@dataclass
class Entry:
    """One model of a metafile.

    Args:
        name: ``Name``.
        metafile: The metafile, relative to the repository root.
        config: ``Config``.
        section: ``Model Zoo.Section``, the model_zoo.md table (one of :data:`SECTIONS`).
        title: ``Model Zoo.Title``.
        metadata: ``Metadata`` (``Genotype``, ``Input Size``, the counts, ...).
        cfg_options: ``Config Options``: ``--cfg-options`` applied before building.
        reported: ``Model Zoo.Reported``: the paper's numbers as the table shows them.
        chk: ``Model Zoo.Reference code (CHK)``: the counts of the reference code run as is
            (docs/reference.md §0, §7-8), by ``Parameters`` / ``Parameters with auxiliary head``
            / ``Mult-Adds``.
        chk_note: Its ``Note``: why a count differs from the reference code, when it does.
    """
    name: str
    metafile: str
    config: str
    section: str
    title: str
    metadata: Dict[str, object]
    cfg_options: Dict[str, object] = field(default_factory=dict)
    reported: Dict[str, str] = field(default_factory=dict)
    chk: Dict[str, ChkValue] = field(default_factory=dict)
    chk_note: str = ''

    @property
    def shape(self) -> Optional[Tuple[int, int]]:
        """``Input Size`` as ``(H, W)``; None: no mult-add count (search weight sets)."""
        size = self.metadata.get('Input Size')
        return None if size is None else tuple(int(n) for n in str(size).split('x'))

    @property
    def genotype(self) -> str:
        return str(self.metadata.get('Genotype', ''))


def _chk_value(value: object, where: str) -> ChkValue:
    """A reference-code count from a metafile: an int, or text such as ``'562.97 M'``."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r'(\d+(?:\.(\d+))?) ([MG])', str(value))
    if not match:
        raise ValueError(f'{where}: expected an integer or "<number> M|G", got {value!r}')
    return float(match[1]), match[3], len(match[2] or '')


def _require(mapping: dict, keys: Sequence[str], where: str) -> None:
    missing = [key for key in keys if key not in mapping]
    if missing:
        raise ValueError(f'{where}: missing {", ".join(missing)}')


def _entry(model: dict, metafile: str) -> Entry:
    """The :class:`Entry` of one ``Models`` item, validated."""
    where = f'{metafile}: model {model.get("Name")!r}'
    _require(model, ('Name', 'Config', 'Metadata', 'Model Zoo'), where)
    metadata, zoo = model['Metadata'], model['Model Zoo']
    _require(metadata, ('Parameters', 'Parameters Counted'), f'{where}: Metadata')
    _require(zoo, ('Section', 'Title'), f'{where}: Model Zoo')
    if zoo['Section'] not in SECTIONS:
        raise ValueError(f'{where}: Model Zoo.Section must be one of {SECTIONS}, '
                         f'got {zoo["Section"]!r}')
    if metadata['Parameters Counted'] not in PARAMS_COUNTED:
        raise ValueError(f'{where}: Parameters Counted must be one of {sorted(PARAMS_COUNTED)}, '
                         f'got {metadata["Parameters Counted"]!r}')
    size = metadata.get('Input Size')
    if size is not None and not re.fullmatch(r'\d+x\d+', str(size)):
        raise ValueError(f'{where}: Input Size must be HxW, got {size!r}')
    if (size is None) != ('FLOPs' not in metadata):
        raise ValueError(f'{where}: FLOPs and Input Size go together')
    chk = dict(zoo.get('Reference code (CHK)', {}))
    note = chk.pop('Note', '')
    return Entry(name=model['Name'], metafile=metafile, config=model['Config'],
                 section=zoo['Section'], title=zoo['Title'], metadata=dict(metadata),
                 cfg_options=dict(model.get('Config Options', {})),
                 reported=dict(zoo.get('Reported', {})),
                 chk={key: _chk_value(value, f'{where}: {key}') for key, value in chk.items()},
                 chk_note=note)


def metafile_paths(root: Path = ROOT) -> List[str]:
    """The metafiles, relative to ``root``: the searches' first, then one per config folder."""
    paths = sorted(root.glob('configs/metafile.yml')) + sorted(root.glob('configs/*/metafile.yml'))
    return [path.relative_to(root).as_posix() for path in paths]


def load_entries(root: Path = ROOT) -> List[Entry]:
    """Every model of every metafile, in file order.

    Raises:
        ValueError: If a model misses a field, has an invalid one, is not in a collection of
            its metafile, or has the name of another model.
    """
    entries: List[Entry] = []
    for path in metafile_paths(root):
        data = yaml.safe_load((root / path).read_text())
        collections = {collection['Name'] for collection in data.get('Collections', [])}
        for model in data['Models']:
            entry = _entry(model, path)
            if model.get('In Collection') not in collections:
                raise ValueError(f'{path}: model {entry.name!r}: In Collection '
                                 f'{model.get("In Collection")!r} is not in its Collections')
            if any(other.name == entry.name for other in entries):
                raise ValueError(f'{path}: model {entry.name!r} is listed twice')
            entries.append(entry)
    return entries


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
    cfg = load_config(str(root / entry.config), copy.deepcopy(entry.cfg_options))
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


def count_entry(entry: Entry, device: str = 'meta', root: Path = ROOT) -> dict:
    """Build ``entry``'s model and count it.

    Returns:
        dict: ``params_all``, ``params`` (``Parameters Counted``), with a
        ``RelativeNASBackbone`` ``params_backbone``, and with an input size ``mult_adds``,
        ``mult_adds_backbone`` (the backbone alone on the same image), ``uncounted_deconv``
        (see :func:`_uncounted_transposed_convs`) and ``all_heads`` (every mmseg head ran).
    """
    model = build_model(entry, root)
    result = dict(
        params_all=count_parameters(model, exclude=()),
        params=count_parameters(
            model, exclude=PARAMS_COUNTED[entry.metadata['Parameters Counted']]))
    backbone = next((m for m in model.modules() if isinstance(m, RelativeNASBackbone)), None)
    if backbone is not None:
        result['params_backbone'] = count_parameters(backbone, exclude=())
    if entry.shape is not None:
        shape = (model_in_channels(model), *entry.shape)
        model.to(device)
        all_heads = hasattr(model, 'auxiliary_head')
        forward = _all_heads_forward if all_heads else forward_tensor
        result['mult_adds'] = count_mult_adds(model, shape, forward=forward)
        if backbone is not None:
            result['mult_adds_backbone'] = count_mult_adds(
                backbone, shape, forward=lambda m, x: m(x))
        result['uncounted_deconv'] = _uncounted_transposed_convs(model, shape, forward)
        result['all_heads'] = all_heads
    return result


def compute_all(entries: Sequence[Entry], device: str = 'meta',
                root: Path = ROOT) -> Dict[str, dict]:
    """:func:`count_entry` for every entry, by name."""
    return {entry.name: count_entry(entry, device, root) for entry in entries}


def count_mismatches(entries: Sequence[Entry], results: Dict[str, dict]) -> List[str]:
    """One message per metafile count (:data:`CHECKED_COUNTS`) that differs from the
    computed one (a zero ``uncounted_deconv`` stands for an absent field)."""
    problems = []
    for entry in entries:
        for name, key in CHECKED_COUNTS:
            stated = entry.metadata.get(name)
            computed = results[entry.name].get(key) or None
            if stated != computed:
                problems.append(
                    f'{entry.metafile}: {entry.name}: Metadata.{name} is '
                    f'{"absent" if stated is None else stated} in the metafile, but '
                    f'{"none" if computed is None else computed} computed from {entry.config}')
    return problems


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------


def _int(value: int) -> str:
    return f'{value:,}'


def _millions(value: int) -> str:
    return f'{value / 1e6:,.2f} M'


def _chk_text(value: ChkValue) -> str:
    if isinstance(value, int):
        return _int(value)
    number, unit, decimals = value
    return f'{number:.{decimals}f} {unit}'


def _matches(ours: int, chk: ChkValue) -> bool:
    """Whether ``ours`` equals the reference code's count to the precision it is given in."""
    if isinstance(chk, int):
        return ours == chk
    number, unit, decimals = chk
    return round(ours / _UNITS[unit], decimals) == round(number, decimals)


def comparison(entry: Entry, result: dict) -> str:
    """'yes' / 'no (...)' per counted quantity against the reference code's counts."""
    parts = []
    for name, key, label in (('Parameters', 'params', 'params'),
                             ('Parameters with auxiliary head', 'params_all', 'params with aux'),
                             ('Mult-Adds', 'mult_adds', 'mult-adds')):
        if name not in entry.chk or key not in result:
            continue
        chk = entry.chk[name]
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


def render_section(section: str, entries: Sequence[Entry], results: Dict[str, dict]) -> str:
    """The generated Markdown of one model_zoo.md section (between its markers)."""
    entries = [e for e in entries if e.section == section]
    lines: List[str] = []
    if section == 'search':
        header = ['config', 'what', 'weight set (supernet) params, measured by mmrnas',
                  'search cost, reported by the paper', 'result, reported by the paper']
        rows = [[_config_link(e), e.title, _int(results[e.name]['params_all']),
                 e.reported.get('Search Cost', '—'), e.reported.get('Search Result', '—')]
                for e in entries]
        lines += _table(header, rows)
        lines += ['', 'The weight set holds every op of every edge (7 ops x 14 edges per cell) '
                  'plus stem, preprocessing layers and classifier; a candidate uses a '
                  'subset, so no single mult-add count applies.']
    elif section in ('cifar10', 'cifar100', 'imagenet', 'digits', 'fashion_mnist'):
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
            reported = ' / '.join(e.reported[k] for k in ('Parameters', 'Mult-Adds')
                                  if k in e.reported) or '—'
            rows.append([e.title, f'`{e.genotype}`', _config_link(e),
                         e.reported.get('Metric', '—'), reported, _int(r['params']),
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
            chk = ' / '.join(_chk_text(e.chk[k]) for k in ('Parameters', 'Mult-Adds')
                             if k in e.chk)
            rows.append([e.title, f'`{e.genotype}`', _config_link(e),
                         e.reported.get('Metric', '—'), chk, _int(r['params_all']),
                         _int(r['params_backbone']), _mult_adds_cell(r),
                         _millions(r['mult_adds_backbone']), comparison(e, r)])
        lines += _table(header, rows)
        for e in entries:
            if results[e.name]['uncounted_deconv']:
                lines += ['', f'Not counted, by the reference rule as by ours: the '
                          f'`nn.ConvTranspose2d` layers (the deconvolution head), '
                          f'{_millions(results[e.name]["uncounted_deconv"])} more.']
    if entries[0].shape is not None:
        lines += ['', f'Mult-adds: {COUNTER}, model in eval mode'
                  + (', with the decode head and both auxiliary heads run (the reference '
                     'counts BiSeNet in train mode, where all three run)'
                     if any(results[e.name]['all_heads'] for e in entries) else '') + '.']
    return '\n'.join(lines)


def render_model_zoo(text: str, entries: Sequence[Entry], results: Dict[str, dict]) -> str:
    """``text`` (model_zoo.md) with every marked section regenerated.

    Raises:
        ValueError: If a section's markers are missing.
    """
    for section in SECTIONS:
        begin = BEGIN.format(section)
        pattern = re.compile(re.escape(begin) + r'\n.*?' + re.escape(END), re.S)
        if not pattern.search(text):
            raise ValueError(f'{MODEL_ZOO} has no "{begin} ... {END}" block')
        body = (f'{begin}\n<!-- generated by {TOOL} from the metafiles; edit them, not this '
                f'table -->\n{render_section(section, entries, results)}\n{END}')
        text = pattern.sub(lambda _: body, text, count=1)
    return text


def render_model_index(root: Path = ROOT) -> str:
    return (f'# Generated by {TOOL} (the metafiles are written by hand).\n' +
            yaml.safe_dump({'Import': metafile_paths(root)}, sort_keys=False))


def render_all(entries: Sequence[Entry], results: Dict[str, dict],
               root: Path = ROOT) -> Dict[str, str]:
    """Every generated file, path (relative to ``root``) -> content."""
    return {
        MODEL_ZOO: render_model_zoo((root / MODEL_ZOO).read_text(), entries, results),
        MODEL_INDEX: render_model_index(root),
    }


def stale_files(entries: Sequence[Entry], results: Dict[str, dict],
                root: Path = ROOT) -> Dict[str, str]:
    """Generated files whose content on disk differs, path -> unified diff (disk -> new)."""
    stale = {}
    for path, content in render_all(entries, results, root).items():
        target = root / path
        current = target.read_text() if target.is_file() else ''
        if current != content:
            stale[path] = ''.join(difflib.unified_diff(
                current.splitlines(True), content.splitlines(True), f'{path} (on disk)',
                f'{path} (generated)', n=1))
    return stale


def write_all(entries: Sequence[Entry], results: Dict[str, dict],
              root: Path = ROOT) -> List[str]:
    """Write the generated files that changed; returns their paths."""
    written = []
    for path, content in render_all(entries, results, root).items():
        target = root / path
        if not target.is_file() or target.read_text() != content:
            target.write_text(content)
            written.append(path)
    return written


# ---------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Check the metafiles\' counts against the configs; generate (or --check) '
        'the model_zoo.md tables and model-index.yml.')
    parser.add_argument('--check', action='store_true',
                        help='write nothing; exit 1 if a count or a generated file is out of date')
    parser.add_argument('--device', choices=('meta', 'cpu'), default='meta',
                        help='device of the mult-add forward pass (meta: shapes only, same '
                        'counts, much faster); default meta')
    parser.add_argument('--json', action='store_true', help='also print the counts as JSON')
    return parser.parse_args(argv)


def main(argv=None, root: Path = ROOT) -> int:
    args = parse_args(argv)
    try:
        entries = load_entries(root)
    except ValueError as error:
        print(f'model_zoo: {error}', file=sys.stderr)
        return 1
    try:
        results = compute_all(entries, args.device, root)
    except FullInstallRequired as error:  # the detection, segmentation and pose configs
        print(f'model_zoo: {error}', file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(results, indent=1))
    print(f'mult-adds counter: {COUNTER}; mult-add forward on the {args.device} device')
    for entry in entries:
        r = results[entry.name]
        text = f'{entry.name}: params {_int(r["params"])} (all {_int(r["params_all"])})'
        if 'mult_adds' in r:
            text += f', mult-adds {_millions(r["mult_adds"])}'
        print(text)
    mismatches = count_mismatches(entries, results)
    for message in mismatches:
        print(f'model_zoo: {message}; edit the metafile', file=sys.stderr)
    if args.check:
        stale = stale_files(entries, results, root)
        for path, diff in stale.items():
            print(f'model_zoo: {path} is out of date; run python {TOOL}\n{diff}',
                  file=sys.stderr)
        if mismatches or stale:
            return 1
        print('model_zoo: the metafiles hold the computed counts; every generated file is up '
              'to date')
        return 0
    if mismatches:
        return 1
    written = write_all(entries, results, root)
    print('model_zoo: wrote ' + (', '.join(written) if written else 'nothing (up to date)'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
