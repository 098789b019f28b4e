"""Known genotypes with their sources, and :func:`resolve_genotype` for user input.

Every entry was copied edge by edge from the file named in its source and checked against
independent copies (see ``tests/test_structures/test_genotype_library.py``).
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple, Union

from .genotype import GENOTYPE_SUFFIXES, Genotype

__all__ = [
    'GenotypeSpec', 'get_genotype', 'list_genotypes', 'genotype_source', 'resolve_genotype'
]

GenotypeSpec = Union[Genotype, str, os.PathLike, Mapping[str, Any]]
"""What :func:`resolve_genotype` accepts: a Genotype, a name, a file, a dict or DARTS text."""


class _Entry(NamedTuple):
    genotype: Genotype
    source: str


_REGISTRY: dict[str, _Entry] = {}


def _register(names: tuple[str, ...], source: str, genotype: Genotype) -> None:
    """Register ``genotype`` under every name in ``names`` (the first is canonical)."""
    entry = _Entry(genotype, source)
    for name in names:
        _REGISTRY[name] = entry


_register(
    ('RelativeNAS', 'PairNAS_CIFAR10', 'CSO_CIFAR10'),
    'RelativeNAS (Tan et al., IEEE TNNLS 2021), searched on CIFAR-10: '
    'github.com/EMI-Group/RelativeNAS genotypes.py `RelativeNAS` (commit 454610f); the same '
    'cells are `PairNAS_CIFAR10` (TransferLearning-Tasks SSDLite and BiSeNet genotypes.py) and '
    '`CSO_CIFAR10` (TransferLearning-Tasks Simplebaseline genotypes.py), '
    'github.com/EMI-Group/TransferLearning-Tasks commit dfa1c12',
    Genotype(
        normal=[('sep_conv_3x3', 0), ('dil_conv_5x5', 1),
                ('sep_conv_3x3', 1), ('sep_conv_3x3', 1),
                ('sep_conv_3x3', 1), ('sep_conv_5x5', 1),
                ('skip_connect', 0), ('sep_conv_3x3', 0)],
        normal_concat=range(2, 6),
        reduce=[('avg_pool_3x3', 1), ('max_pool_3x3', 1),
                ('dil_conv_5x5', 1), ('max_pool_3x3', 1),
                ('avg_pool_3x3', 3), ('skip_connect', 1),
                ('dil_conv_5x5', 3), ('sep_conv_3x3', 1)],
        reduce_concat=range(2, 6)))

_register(
    ('PairNAS_CIFAR100', ),
    'github.com/EMI-Group/TransferLearning-Tasks '
    'Simplebaseline/lib/models/backbones/DARTS/genotypes.py `PairNAS_CIFAR100` (commit dfa1c12); '
    'unused by any code path there; presumably searched on CIFAR-100 (unverified); it is not '
    'the model behind the README CIFAR-100 result',
    Genotype(
        normal=[('dil_conv_5x5', 1), ('skip_connect', 0),
                ('sep_conv_3x3', 1), ('sep_conv_5x5', 2),
                ('sep_conv_3x3', 1), ('max_pool_3x3', 0),
                ('sep_conv_5x5', 1), ('dil_conv_5x5', 3)],
        normal_concat=range(2, 6),
        reduce=[('max_pool_3x3', 0), ('skip_connect', 1),
                ('sep_conv_3x3', 0), ('sep_conv_5x5', 0),
                ('dil_conv_5x5', 2), ('dil_conv_3x3', 2),
                ('sep_conv_3x3', 3), ('sep_conv_3x3', 4)],
        reduce_concat=range(2, 6)))

_register(
    ('DARTS_V1', ),
    'DARTS first order (Liu et al., ICLR 2019): github.com/quark0/darts cnn/genotypes.py '
    '`DARTS_V1`; identical copy in github.com/EMI-Group/RelativeNAS genotypes.py',
    Genotype(
        normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0),
                ('skip_connect', 0), ('sep_conv_3x3', 1),
                ('skip_connect', 0), ('sep_conv_3x3', 1),
                ('sep_conv_3x3', 0), ('skip_connect', 2)],
        normal_concat=[2, 3, 4, 5],
        reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1),
                ('skip_connect', 2), ('max_pool_3x3', 0),
                ('max_pool_3x3', 0), ('skip_connect', 2),
                ('skip_connect', 2), ('avg_pool_3x3', 0)],
        reduce_concat=[2, 3, 4, 5]))

_register(
    ('DARTS_V2', 'DARTS'),
    'DARTS second order (Liu et al., ICLR 2019): github.com/quark0/darts cnn/genotypes.py '
    '`DARTS_V2` (= `DARTS`); identical copy in github.com/EMI-Group/RelativeNAS genotypes.py; '
    "also NNI's DARTS.load_searched_model('darts-v2')",
    Genotype(
        normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1),
                ('sep_conv_3x3', 0), ('sep_conv_3x3', 1),
                ('sep_conv_3x3', 1), ('skip_connect', 0),
                ('skip_connect', 0), ('dil_conv_3x3', 2)],
        normal_concat=[2, 3, 4, 5],
        reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1),
                ('skip_connect', 2), ('max_pool_3x3', 1),
                ('max_pool_3x3', 0), ('skip_connect', 2),
                ('skip_connect', 2), ('max_pool_3x3', 1)],
        reduce_concat=[2, 3, 4, 5]))

_register(
    ('NASNet', ),
    'NASNet-A (Zoph et al., CVPR 2018), 5 nodes, as transcribed in github.com/quark0/darts '
    'cnn/genotypes.py `NASNet`; identical copy in github.com/EMI-Group/RelativeNAS genotypes.py',
    Genotype(
        normal=[('sep_conv_5x5', 1), ('sep_conv_3x3', 0),
                ('sep_conv_5x5', 0), ('sep_conv_3x3', 0),
                ('avg_pool_3x3', 1), ('skip_connect', 0),
                ('avg_pool_3x3', 0), ('avg_pool_3x3', 0),
                ('sep_conv_3x3', 1), ('skip_connect', 1)],
        normal_concat=[2, 3, 4, 5, 6],
        reduce=[('sep_conv_5x5', 1), ('sep_conv_7x7', 0),
                ('max_pool_3x3', 1), ('sep_conv_7x7', 0),
                ('avg_pool_3x3', 1), ('sep_conv_5x5', 0),
                ('skip_connect', 3), ('avg_pool_3x3', 2),
                ('sep_conv_3x3', 2), ('max_pool_3x3', 1)],
        reduce_concat=[4, 5, 6]))

_register(
    ('AmoebaNet', ),
    'AmoebaNet-A (Real et al., AAAI 2019), 5 nodes, as transcribed in github.com/quark0/darts '
    'cnn/genotypes.py `AmoebaNet`; identical copy in github.com/EMI-Group/RelativeNAS '
    'genotypes.py',
    Genotype(
        normal=[('avg_pool_3x3', 0), ('max_pool_3x3', 1),
                ('sep_conv_3x3', 0), ('sep_conv_5x5', 2),
                ('sep_conv_3x3', 0), ('avg_pool_3x3', 3),
                ('sep_conv_3x3', 1), ('skip_connect', 1),
                ('skip_connect', 0), ('avg_pool_3x3', 1)],
        normal_concat=[4, 5, 6],
        reduce=[('avg_pool_3x3', 0), ('sep_conv_3x3', 1),
                ('max_pool_3x3', 0), ('sep_conv_7x7', 2),
                ('sep_conv_7x7', 0), ('avg_pool_3x3', 1),
                ('max_pool_3x3', 0), ('max_pool_3x3', 1),
                ('conv_7x1_1x7', 0), ('sep_conv_3x3', 5)],
        reduce_concat=[3, 4, 6]))

_register(
    ('PDARTS', ),
    'P-DARTS (Chen et al., ICCV 2019), searched on CIFAR-10: github.com/chenxin061/pdarts '
    'genotypes.py `PDARTS`; identical copy in github.com/EMI-Group/TransferLearning-Tasks '
    'Simplebaseline genotypes.py',
    Genotype(
        normal=[('skip_connect', 0), ('dil_conv_3x3', 1),
                ('skip_connect', 0), ('sep_conv_3x3', 1),
                ('sep_conv_3x3', 1), ('sep_conv_3x3', 3),
                ('sep_conv_3x3', 0), ('dil_conv_5x5', 4)],
        normal_concat=range(2, 6),
        reduce=[('avg_pool_3x3', 0), ('sep_conv_5x5', 1),
                ('sep_conv_3x3', 0), ('dil_conv_5x5', 2),
                ('max_pool_3x3', 0), ('dil_conv_3x3', 1),
                ('dil_conv_3x3', 1), ('dil_conv_5x5', 3)],
        reduce_concat=range(2, 6)))


def list_genotypes() -> list[str]:
    """Sorted names of the known genotypes, aliases included."""
    return sorted(_REGISTRY)


def _unknown_name(name: Any) -> str:
    close = difflib.get_close_matches(str(name), list_genotypes(), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ''
    return (f'unknown genotype name {name!r}{hint}; known names: '
            f"{', '.join(list_genotypes())}. For another architecture pass the path to a "
            f"{'/'.join(GENOTYPE_SUFFIXES)} file (see Genotype.dump) instead")


def get_genotype(name: str) -> Genotype:
    """The known genotype called ``name`` (case-sensitive; aliases give the same object).

    Args:
        name: one of :func:`list_genotypes`.

    Raises:
        ValueError: for an unknown name, listing the known ones.
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(_unknown_name(name))
    return _REGISTRY[name].genotype


def genotype_source(name: str) -> str:
    """Where the known genotype ``name`` comes from (paper, repository, file, commit).

    Args:
        name: one of :func:`list_genotypes`.
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(_unknown_name(name))
    return _REGISTRY[name].source


def resolve_genotype(spec: GenotypeSpec) -> Genotype:
    """Turn whatever a config or a user gives into a :class:`Genotype`.

    Args:
        spec: a ``Genotype`` (returned as is); a known name (:func:`list_genotypes`); the path
            of an existing ``.yaml``/``.yml``/``.json`` file (:meth:`Genotype.load`); a mapping
            (:meth:`Genotype.from_dict`); text containing ``Genotype(...)``
            (:meth:`Genotype.from_string`); or a DARTS ``Genotype`` namedtuple.

    Raises:
        ValueError: if ``spec`` is none of these.
    """
    if isinstance(spec, Genotype):
        return spec
    if isinstance(spec, Mapping):
        return Genotype.from_dict(spec)
    if isinstance(spec, str) and spec in _REGISTRY:
        return _REGISTRY[spec].genotype
    if isinstance(spec, str) and 'Genotype(' in spec:
        return Genotype.from_string(spec)
    detail = ''
    if isinstance(spec, (str, os.PathLike)):
        path = Path(spec).expanduser()
        if path.suffix.lower() in GENOTYPE_SUFFIXES:
            if path.is_file():
                return Genotype.load(path)
            detail = f' ({path} does not exist)'
        else:
            close = difflib.get_close_matches(str(spec), list_genotypes(), n=1)
            detail = f" (did you mean '{close[0]}'?)" if close else ''
    elif isinstance(spec, tuple) and hasattr(spec, '_fields') and all(
            hasattr(spec, field) for field in ('normal', 'normal_concat', 'reduce',
                                               'reduce_concat')):
        # DARTS' own ``namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')``
        return Genotype(spec.normal, spec.normal_concat, spec.reduce, spec.reduce_concat)
    raise ValueError(f'genotype {spec!r} is neither a known name '
                     f"({', '.join(list_genotypes())}) nor an existing "
                     f"{'/'.join(GENOTYPE_SUFFIXES)} file nor Genotype(...) text{detail}")
