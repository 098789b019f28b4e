"""Command-line plumbing shared by the mmrnas tools (train, test, get_flops, search).

- :class:`CfgOptionsAction`: ``--cfg-options`` as MMEngine's ``DictAction`` parses it, except
  that a ``genotype`` value is kept verbatim (a name, a file or DARTS ``Genotype(...)`` text)
  and a malformed pair ends the tool with one error line.
- :func:`load_config`: the config file, checked, with the options merged as
  :func:`mmrnas.utils.config.merge_cfg_options` does (``genotype=`` reaches every backbone).
- :func:`parse_launch_args` and :func:`set_work_dir`: ``--work-dir``, ``--launcher`` and
  ``--local-rank``, and the work dir a run writes to.
- :func:`exit_on_user_errors`: known user errors become one ``PROG: error: ...`` line on
  stderr and exit code 2, without a traceback.
- :func:`describe_threads` and :func:`describe_genotypes`: the lines a tool logs about what it
  runs; :func:`build_runner` builds MMEngine's Runner and logs them.
- :func:`check_loop_data`: the datasets a run reads, built and checked against the model
  (classes, image channels, normalisation) before the Runner, each problem one line.
- :func:`model_input_shape`: the C x H x W a tool feeds a model (``get_flops.py``,
  ``pytorch2onnx.py``), read from the config and the model unless ``--shape`` gives H x W.
"""
import argparse
import copy
import inspect
import os
import os.path as osp
import re
import sys
import warnings
from contextlib import contextmanager
from typing import Any, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.registry import DATASETS
from mmengine.runner import Runner

from mmrnas.structures import GENOTYPE_SUFFIXES, Genotype, resolve_genotype
from .config import BACKBONE_TYPES, backbone_cfgs, iter_module_cfgs, merge_cfg_options
from .input_size import config_input_size
from .install_level import (
    TOOLBOXES,
    FullInstallRequired,
    full_install_cause,
    full_install_error,
    missing_for_full,
)

#: Distribution names of the full level's toolboxes (MMEngine names them in its errors).
TOOLBOX_DISTRIBUTIONS = set(TOOLBOXES.values())

__all__ = [
    'CfgOptionsAction', 'build_dataset', 'build_runner', 'check_classifier_classes',
    'check_image_channels', 'check_loop_data', 'describe_genotypes', 'describe_threads',
    'exit_on_user_errors', 'load_config', 'model_input_shape', 'parse_launch_args',
    'set_work_dir'
]

#: Errors that mean "the command line or the config is wrong", not "mmrnas is broken".
USER_ERRORS = (ValueError, FileNotFoundError, FullInstallRequired)
#: The dataloaders each loop of the Runner reads: training validates too.
LOOP_DATALOADERS = dict(
    train_loop=('train_dataloader', 'val_dataloader'),
    val_loop=('val_dataloader', ),
    test_loop=('test_dataloader', ))


class CfgOptionsAction(DictAction):
    """``--cfg-options KEY=VALUE ...`` into a dict, as MMEngine's ``DictAction`` does.

    Differences: the value of a ``genotype`` key (``genotype`` or ``*.genotype``) is kept as
    text, so that ``genotype=Genotype(normal=[...], ...)`` as DARTS logs print it reaches
    :func:`mmrnas.structures.resolve_genotype` (``DictAction`` would split it at its commas);
    a pair without ``=`` or with unbalanced brackets ends the tool with one error line and exit
    code 2 instead of a traceback.
    """

    def __call__(self,
                 parser: argparse.ArgumentParser,
                 namespace: argparse.Namespace,
                 values: Sequence[str],
                 option_string: Optional[str] = None) -> None:
        options = copy.copy(getattr(namespace, self.dest, None) or {})
        for pair in values:
            key, sep, value = pair.partition('=')
            if not (sep and key):
                parser.exit(2, f'{parser.prog}: error: {option_string} takes KEY=VALUE pairs, '
                            f'got {pair!r}\n')
            if key.rsplit('.', 1)[-1] == 'genotype':
                options[key] = value.strip().strip('\'"')
                continue
            try:
                options[key] = self._parse_iterable(value)
            except (AssertionError, RecursionError):
                parser.exit(2, f'{parser.prog}: error: {option_string}: cannot parse the value '
                            f'of {key!r}: {value!r} (unbalanced brackets?)\n')
        setattr(namespace, self.dest, options)


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Read a config file and merge ``--cfg-options`` into it.

    Args:
        path (str): The config file.
        cfg_options (dict, optional): Parsed ``--cfg-options``; ``genotype`` is also written
            into every ``RelativeNASBackbone`` of ``cfg.model``.

    Raises:
        FileNotFoundError: if ``path`` is not a file.
        ValueError: if ``path`` is a genotype file rather than a config.
        FullInstallRequired: if the config needs a toolbox (mmdet, mmseg, mmpose: their
            ``_base_`` files or mmrnas's integration modules) of the full install level and
            this environment has the core level.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    if osp.splitext(path)[1].lower() in GENOTYPE_SUFFIXES:
        try:
            Genotype.load(path)
        except ValueError:
            pass  # not a genotype: let MMEngine read it as a config
        else:
            raise ValueError(f'{path!r} is a genotype file, not a config: pass a config and '
                             f'the genotype as --cfg-options genotype={path}')
    try:
        with warnings.catch_warnings():
            # MMEngine looks for a missing toolbox (an `mmdet::` base) with pkg_resources
            warnings.filterwarnings('ignore', 'pkg_resources is deprecated', UserWarning)
            cfg = Config.fromfile(path)
    except ImportError as error:
        reason = full_install_reason(path, error)
        if reason is None:
            raise
        raise reason from error
    merge_cfg_options(cfg, cfg_options)
    return cfg


def full_install_reason(path: str, error: ImportError) -> Optional[FullInstallRequired]:
    """The full-install error behind ``error``, raised while config ``path`` was read: one
    raised by an integration module it imports, or a toolbox of the full level that is not
    installed and that the error names as missing (an ``mmdet::`` base: MMEngine's
    ``"mmdet is not installed"``; ``custom_imports``: a ``ModuleNotFoundError`` in the
    chain); None for any other import error."""
    cause = full_install_cause(error)
    if cause is not None:
        return cause
    toolbox = TOOLBOX_DISTRIBUTIONS | set(TOOLBOXES) | {'mmcv'}
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        name = getattr(error, 'name', None) or ''
        named = re.match(r'(\w+) is not installed', str(error))
        if name.split('.')[0] in toolbox or (named and named.group(1) in toolbox):
            missing = missing_for_full()
            return full_install_error(f'config {path!r}', missing) if missing else None
        error = error.__cause__ or error.__context__
    return None


def parse_launch_args(parser: argparse.ArgumentParser, argv: Optional[Sequence[str]],
                      work_dir_help: str) -> argparse.Namespace:
    """Add ``--work-dir`` (help ``work_dir_help``), ``--launcher`` and ``--local-rank`` to
    ``parser``, parse ``argv`` (None: ``sys.argv``) and export the local rank as ``LOCAL_RANK``
    for MMEngine unless the launcher did."""
    parser.add_argument('--work-dir', help=work_dir_help)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def set_work_dir(cfg: Config, config: str, work_dir: Optional[str]) -> None:
    """Set ``cfg.work_dir`` to ``work_dir`` (``--work-dir``), else keep the config's own, else
    ``./work_dirs/<name of the config file without extension>``."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])


@contextmanager
def exit_on_user_errors(prog: Optional[str] = None) -> Iterator[None]:
    """Turn the :data:`USER_ERRORS` raised in the block into ``PROG: error: MESSAGE`` on stderr
    and ``SystemExit(2)``, without a traceback. Wrap the checks and builds that read what the
    user gave (config, options, data), not the run itself.

    Args:
        prog (str, optional): Program name of the message. Defaults to the script's name.
    """
    try:
        yield
    except USER_ERRORS as error:
        print(f'{prog or osp.basename(sys.argv[0])}: error: {error}', file=sys.stderr)
        raise SystemExit(2) from None


def describe_threads() -> str:
    """One line: the intra-op threads PyTorch uses in this process and where the number comes
    from. Call it before MMEngine's Runner, which may set ``OMP_NUM_THREADS`` for its data
    workers."""
    threads = torch.get_num_threads()
    env = os.environ.get('OMP_NUM_THREADS')
    if env is None:
        source = ('PyTorch default, OMP_NUM_THREADS unset; processes sharing the CPU should '
                  'split its cores, see docs/faq.md')
    elif env.strip() == str(threads):
        source = f'OMP_NUM_THREADS={env}'
    else:
        source = f'torch.set_num_threads; OMP_NUM_THREADS={env} is not used'
    return f'threads: {threads} ({source})'


def describe_genotypes(cfg: Config) -> List[str]:
    """One line per distinct genotype of every ``RelativeNASBackbone`` in ``cfg.model``:
    ``genotype: SPEC -> Genotype(...)`` for a name or a file, ``genotype: Genotype(...)``
    otherwise. Resolving them here reports a bad genotype before anything is built.

    Raises:
        ValueError: if a genotype cannot be resolved.
    """
    lines = []
    # a backbone without genotype builds its default, the published cell
    for spec in [b.get('genotype', 'RelativeNAS') for b in backbone_cfgs(cfg.get('model'))]:
        genotype = resolve_genotype(spec)
        named = isinstance(spec, str) and 'Genotype(' not in spec
        line = f'genotype: {spec} -> {genotype!r}' if named else f'genotype: {genotype!r}'
        if line not in lines:
            lines.append(line)
    return lines


def build_runner(cfg: Config, loop: str, check_data: bool = False) -> Runner:
    """Build MMEngine's Runner and one of its loops, then log the thread count and genotypes.

    The lines are computed first: a bad genotype fails before the Runner logs anything, and the
    thread source is read before the Runner may set ``OMP_NUM_THREADS`` for its data workers.
    Then, with ``check_data``, the loop's data are checked (:func:`check_loop_data`), also
    before the Runner writes anything. Building the loop builds its dataloader, so missing data
    fails here, not mid-run.

    Args:
        cfg (Config): The full config, launcher set.
        loop (str): ``'train_loop'``, ``'val_loop'`` or ``'test_loop'``.
        check_data (bool): Check the data of the loop against the model first (the
            retraining tools; a search checks its own). Defaults to False.
    """
    summary = [describe_threads()] + describe_genotypes(cfg)
    if check_data:
        check_loop_data(cfg, loop)
    runner = Runner.from_cfg(cfg)
    getattr(runner, loop)  # the property builds the loop and its dataloader
    for line in summary:
        runner.logger.info(line)
    return runner


def check_classifier_classes(cfg: Config, dataset: Any) -> None:
    """A classifier's ``model.head.num_classes`` must be the number of classes of its data
    (``dataset.metainfo['classes']``, e.g. the sub-folders of a ``CustomDataset``); configs
    without either are not checked.

    Raises:
        ValueError: naming both numbers and the keys to set.
    """
    head = (cfg.get('model') or {}).get('head')
    expected = head.get('num_classes') if isinstance(head, dict) else None
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if expected is None or not classes or len(classes) == expected:
        return
    raise ValueError(f'the data has {len(classes)} classes but model.head.num_classes='
                     f'{expected}: set --cfg-options model.head.num_classes={len(classes)} '
                     f'data_preprocessor.num_classes={len(classes)}')


def _first_line(error: BaseException) -> str:
    """``Type: first line of the message`` of an exception, without a final full stop."""
    lines = str(error).strip().splitlines()
    return f'{type(error).__name__}: {lines[0] if lines else ""}'.rstrip('.: ')


def _missing_data_message(cfg: Config, key: str, error: Exception) -> str:
    """One line for a dataset of ``cfg[key]`` that could not be built: the cause, the folder
    the config expects and how to get the data there (the download address of a dataset that
    has one, e.g. mmpretrain's CIFAR10)."""
    dataset_cfg = cfg[key]['dataset']
    where = f'{key}.dataset (type={dataset_cfg.get("type")!r}) could not be built'
    # The dataset that reads the files, under wrappers such as RepeatDataset / ConcatDataset.
    nodes = [(name, node) for name, node in iter_module_cfgs(dataset_cfg, f'{key}.dataset')
             if 'data_root' in node or 'data_prefix' in node] or [(f'{key}.dataset', dataset_cfg)]
    name, node = nodes[0]
    folder = node.get('data_root') or node.get('data_prefix')
    try:
        with DATASETS.switch_scope_and_registry(cfg.get('default_scope')) as registry:
            dataset_type = registry.get(node.get('type'))
    except Exception:  # an unknown type: the cause already says so
        dataset_type = None
    url = getattr(dataset_type, 'url', None)
    if not isinstance(url, str):
        return (f'{where}: {_first_line(error)}; the config expects the data in {folder!r} '
                f'({name}.data_root, data_prefix / ann_file): see '
                'docs/retraining_guide.md#data for how to get them')
    message = (f'{where}: {_first_line(error)}; get the data into {folder!r}: download {url} '
               'and extract it there')
    downloads = inspect.signature(dataset_type).parameters.get('download')
    if downloads is not None and not node.get('download', downloads.default):
        message += f', or let the dataset download it with --cfg-options {name}.download=True'
    return message


def build_dataset(cfg: Config, key: str) -> Any:
    """Build ``cfg[key].dataset`` as MMEngine's Runner does (in the config's default scope,
    then ``full_init``).

    A dataset that downloads its data when they are missing (mmpretrain's CIFAR10 with its
    ``download=True`` default) downloads them here; offline, that fails here, in one line.

    Args:
        cfg (Config): The config.
        key (str): The dataloader: ``'train_dataloader'``, ``'val_dataloader'`` or
            ``'test_dataloader'``.

    Raises:
        ValueError: the dataset cannot be built (missing files, failed download, bad
            argument): the cause, the folder the config expects and how to get the data.
    """
    try:
        with DATASETS.switch_scope_and_registry(cfg.get('default_scope')) as registry:
            dataset = registry.build(cfg[key]['dataset'])
            if hasattr(dataset, 'full_init'):
                dataset.full_init()
    except Exception as error:  # a user-data boundary: any failure is the config's or data's
        raise ValueError(_missing_data_message(cfg, key, error)) from error
    return dataset


def check_image_channels(cfg: Config, dataset: Any, key: str) -> None:
    """The images of ``dataset`` (its first sample after the pipeline, C x H x W ``inputs``)
    must have the channels of the model's ``RelativeNASBackbone`` (``in_channels``, default 3)
    and of the data preprocessor's ``mean`` / ``std``; configs without a
    ``RelativeNASBackbone`` only have the preprocessor checked.

    The fix named follows what was most likely meant: for fewer channels than a 3-channel
    model (grey data, the default model), the backbone's ``in_channels``; for a model of other
    channels (a grey model) or more channels than the model, data that match the model: the
    ``color_type`` of the dataset's ``LoadImageFromFile`` (``grayscale`` / ``color``), and
    ``mean`` / ``std`` if they do not fit the model either.

    Args:
        cfg (Config): The config.
        dataset: The built dataset.
        key (str): Its dataloader, for the message.

    Raises:
        ValueError: naming the numbers and the keys to set.
    """
    if not len(dataset):
        raise ValueError(f'{key}.dataset has no samples: check its data_root (and data_prefix / '
                         'ann_file)')
    try:
        inputs = dataset[0]['inputs']
    except Exception as error:  # a user-data boundary: a file the pipeline cannot read
        raise ValueError(f'{key}.dataset: cannot read its first sample through the pipeline '
                         f'({_first_line(error)})') from error
    if getattr(inputs, 'ndim', None) != 3:
        return
    channels = int(inputs.shape[0])
    model = cfg.get('model') or {}
    backbones = [(name, node) for name, node in iter_module_cfgs(model)
                 if node.get('type') in BACKBONE_TYPES]
    model_channels = backbones[0][1].get('in_channels', 3) if backbones else channels
    mismatch = f'{key}.dataset gives {channels}-channel images but the model takes {model_channels}'
    if model_channels != channels and (model_channels != 3 or channels > model_channels):
        # A model made for other images (e.g. grey ones): the data must match it, not the model
        # the data. test_dataloader = val_dataloader is copied when the config is parsed, so
        # options for val_dataloader do not reach test_dataloader.
        color_type = _color_type_option(cfg, key, model_channels)
        normalise = _normalise(cfg, model_channels)[2]
        if color_type:
            raise ValueError(f'{mismatch}: set --cfg-options {color_type} {normalise}'.rstrip())
        raise ValueError(f'{mismatch}: make the pipeline of {key}.dataset give '
                         f'{model_channels}-channel images' +
                         (f' and set --cfg-options {normalise}' if normalise else ''))
    preprocessor_key, lengths, normalise = _normalise(cfg, channels)
    if model_channels != channels:  # e.g. grey images, the default 3-channel model
        raise ValueError(f'{mismatch}: set --cfg-options {backbones[0][0]}.in_channels='
                         f'{channels} {normalise}'.rstrip())
    if normalise:
        raise ValueError(f'{key}.dataset gives {channels}-channel images but '
                         f'{preprocessor_key}.mean / std have {lengths} values: set '
                         f'--cfg-options {normalise}')


def _normalise(cfg: Config, channels: int) -> Tuple[str, str, str]:
    """The data preprocessor's key, its ``mean`` / ``std`` lengths other than ``channels``
    (e.g. ``'3'``) and the options that fix them (``''`` and ``''`` when they fit)."""
    model = cfg.get('model') or {}
    key = 'model.data_preprocessor' if model.get('data_preprocessor') else 'data_preprocessor'
    preprocessor = model.get('data_preprocessor') or cfg.get('data_preprocessor') or {}
    lengths = '/'.join(str(length) for length in sorted(
        {len(preprocessor[name]) for name in ('mean', 'std')
         if isinstance(preprocessor.get(name), (list, tuple))} - {channels}))
    if not lengths:
        return key, '', ''
    values = f'{channels} value{"s" if channels > 1 else ""} each'
    return key, lengths, f'{key}.mean=[...] {key}.std=[...] ({values}, not {lengths})'


def _color_type_option(cfg: Config, key: str, channels: int) -> Optional[str]:
    """The option that makes the images of ``cfg[key]`` ``channels``-channel: the
    ``color_type`` of its ``LoadImageFromFile`` (``grayscale`` for 1, ``color`` for 3), or None
    (other channels, or no such transform)."""
    color_type = {1: 'grayscale', 3: 'color'}.get(channels)
    loads = [name for name, node in iter_module_cfgs((cfg.get(key) or {}).get('dataset'),
                                                     f'{key}.dataset')
             if str(node.get('type')).rsplit('.', 1)[-1] == 'LoadImageFromFile']
    return f'{loads[0]}.color_type={color_type}' if color_type and loads else None


def check_loop_data(cfg: Config, loop: str) -> None:
    """Build the datasets a loop of the Runner reads (:data:`LOOP_DATALOADERS`; ``train_loop``:
    train and val) and check them against the model: classes (:func:`check_classifier_classes`),
    image channels and normalisation (:func:`check_image_channels`).

    Run it before the Runner, so that a user error ends the tool in one line before a work dir
    or a log is written. The Runner builds the datasets again: the price of that order is one
    more read of the annotation files or folder listings.

    Args:
        cfg (Config): The config.
        loop (str): ``'train_loop'``, ``'val_loop'`` or ``'test_loop'``.

    Raises:
        ValueError: for the first problem, in one line.
    """
    for key in LOOP_DATALOADERS[loop]:
        loader = cfg.get(key)
        if not (isinstance(loader, dict) and isinstance(loader.get('dataset'), dict)):
            continue
        dataset = build_dataset(cfg, key)
        check_classifier_classes(cfg, dataset)
        check_image_channels(cfg, dataset, key)


def model_in_channels(model: nn.Module) -> int:
    """The input channels of the first convolution of ``model`` (3 if it has none)."""
    return next((module.in_channels for module in model.modules()
                 if isinstance(module, nn.Conv2d)), 3)


def model_input_shape(cfg: Config, model: nn.Module,
                      shape: Optional[Sequence[int]] = None) -> Tuple[Tuple[int, int, int], str]:
    """The image a tool feeds ``model``, ``(C, H, W)``, and where its size comes from.

    Args:
        cfg (Config): The config of the model; H x W are read from it
            (:func:`mmrnas.utils.config_input_size`) unless ``shape`` is given.
        model (nn.Module): The built model; C is the input channels of its first convolution
            (``in_channels`` of a ``RelativeNASBackbone``).
        shape (Sequence[int], optional): ``--shape``: H, or H W.

    Returns:
        tuple: ``((C, H, W), 'size from SOURCE')``.
    """
    if shape:
        height, width = (tuple(shape) * 2)[:2]
        source = '--shape'
    else:
        height, width, source = config_input_size(cfg)
    return (model_in_channels(model), height, width), f'size from {source}'
