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
"""
import argparse
import copy
import os
import os.path as osp
import sys
from contextlib import contextmanager
from typing import Any, Iterator, List, Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmrnas.structures import GENOTYPE_SUFFIXES, Genotype, resolve_genotype
from .config import backbone_cfgs, merge_cfg_options

__all__ = [
    'CfgOptionsAction', 'build_runner', 'check_classifier_classes', 'describe_genotypes',
    'describe_threads', 'exit_on_user_errors', 'load_config', 'parse_launch_args', 'set_work_dir'
]

#: Errors that mean "the command line or the config is wrong", not "mmrnas is broken".
USER_ERRORS = (ValueError, FileNotFoundError)


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
    cfg = Config.fromfile(path)
    merge_cfg_options(cfg, cfg_options)
    return cfg


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


def build_runner(cfg: Config, loop: str) -> Runner:
    """Build MMEngine's Runner and one of its loops, then log the thread count and genotypes.

    The lines are computed first: a bad genotype fails before the Runner logs anything, and the
    thread source is read before the Runner may set ``OMP_NUM_THREADS`` for its data workers.
    Building the loop builds its dataloader, so missing data fails here, not mid-run.

    Args:
        cfg (Config): The full config, launcher set.
        loop (str): ``'train_loop'``, ``'val_loop'`` or ``'test_loop'``.
    """
    summary = [describe_threads()] + describe_genotypes(cfg)
    runner = Runner.from_cfg(cfg)
    dataloader = getattr(getattr(runner, loop), 'dataloader', None)
    check_classifier_classes(cfg, getattr(dataloader, 'dataset', None))
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
