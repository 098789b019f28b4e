"""Where the search data go (docs/search_guide.md, "Data placement"): held on the device, in
host memory, or read from the files for every batch, by their size against the memory budgets.
"""
from __future__ import annotations

import os
import re

import torch

__all__ = ['DATA_PLACEMENTS', 'parse_memory_size', 'format_size', 'default_memory_budget',
           'default_host_budget', 'choose_placement']

#: Values of ``train_dataloader.data_placement``.
DATA_PLACEMENTS = ('auto', 'device', 'host', 'stream')
_UNITS = {'B': 1, 'KB': 10**3, 'MB': 10**6, 'GB': 10**9, 'TB': 10**12,
          'KiB': 2**10, 'MiB': 2**20, 'GiB': 2**30, 'TiB': 2**40}


def parse_memory_size(value: int | str, key: str = 'device_memory_budget') -> int:
    """Bytes of a memory budget.

    Args:
        value: a positive int, or a string such as ``'2GiB'``, ``'500 MB'`` (decimal or
            binary units).
        key: the ``train_dataloader`` key errors name.

    Raises:
        ValueError: not a positive size.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = re.fullmatch(r'\s*(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?\s*', value) if isinstance(
        value, str) else None
    if match:
        size = int(float(match[1]) * _UNITS[match[2] or 'B'])
        if size > 0:
            return size
    raise ValueError(f"train_dataloader.{key} must be a positive number of bytes or a size "
                     f"such as '2GiB' or '500MB', got {value!r}")


def format_size(size: int) -> str:
    """``size`` bytes in the largest binary unit it reaches (``'146.5 MiB'``)."""
    units = ('B', 'KiB', 'MiB', 'GiB', 'TiB')
    power = min(len(units) - 1, max(0, (size.bit_length() - 1) // 10))
    return f'{size / 2**(10 * power):.1f} {units[power]}'


def _physical_memory() -> int:
    return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')


def default_memory_budget(device: torch.device) -> int:
    """A quarter of the device's memory on CUDA, of the physical RAM elsewhere."""
    if device.type == 'cuda':
        return torch.cuda.get_device_properties(device).total_memory // 4
    return _physical_memory() // 4


def default_host_budget() -> int:
    """Half of the physical RAM."""
    return _physical_memory() // 2


def _over_budget(placement: str, size: int, budget: int, key: str, where: str,
                 instead: str) -> ValueError:
    return ValueError(f"train_dataloader.data_placement={placement!r}, but the search data "
                      f'take {format_size(size)} ({size} bytes), more than the {where} memory '
                      f'budget of {format_size(budget)} ({budget} bytes); set {instead}, or '
                      f'train_dataloader.{key}={size} or more')


def choose_placement(placement: str, size: int, device_budget: int,
                     host_budget: int) -> tuple[str, str]:
    """Where the search data go (``'device'``, ``'host'`` or ``'stream'``) and the log line
    saying why.

    ``'auto'`` keeps data of at most ``device_budget`` bytes on the device, larger data of at
    most ``host_budget`` bytes in host memory, and streams larger data from the files.

    Args:
        placement: ``train_dataloader.data_placement``, one of :data:`DATA_PLACEMENTS`.
        size: bytes of the images and labels.
        device_budget: bytes the data may take on the device.
        host_budget: bytes the data may take in host memory.

    Raises:
        ValueError: ``'device'`` or ``'host'`` forced for data over its budget.
    """
    on_device, on_host = size <= device_budget, size <= host_budget
    if placement == 'device' and not on_device:
        raise _over_budget(placement, size, device_budget, 'device_memory_budget', 'device',
                           "data_placement='auto' (host memory, or a stream from the files)")
    if placement == 'host' and not on_host:
        raise _over_budget(placement, size, host_budget, 'host_memory_budget', 'host',
                           "data_placement='stream' or 'auto' (read from the files every "
                           'epoch)')
    chosen = placement if placement != 'auto' else (
        'device' if on_device else 'host' if on_host else 'stream')
    compared = [f'{"<=" if on_device else ">"} device budget {format_size(device_budget)}']
    if chosen != 'device':
        compared.append(f'{"<=" if on_host else ">"} host budget {format_size(host_budget)}')
    reason = '' if placement == 'auto' else f', data_placement={placement!r}'
    return chosen, (f'search data placement: {chosen} ({format_size(size)} '
                    f'{", ".join(compared)}{reason})')
