"""The placement policy: memory sizes, budgets, and where the search data go for a size."""
import pytest
import torch

from mmrnas.datasets import (
    DATA_PLACEMENTS,
    choose_placement,
    default_host_budget,
    default_memory_budget,
    format_size,
    parse_memory_size,
)


@pytest.mark.parametrize('value, size', [
    (1000, 1000), ('2GiB', 2 * 2**30), ('500 MB', 500 * 10**6), ('1.5KiB', 1536), ('64', 64)])
def test_memory_sizes(value, size):
    assert parse_memory_size(value) == size


@pytest.mark.parametrize('value', [0, -1, True, 1.5, '2 GiBs', 'lots', '0MiB', None])
def test_bad_memory_sizes_are_refused(value):
    with pytest.raises(ValueError, match=r"device_memory_budget must be a positive number of "
                                         r"bytes or a size such as '2GiB'"):
        parse_memory_size(value)


def test_auto_placement_follows_the_budgets():
    gib = 2**30
    assert choose_placement('auto', 100 * 2**20, gib, 4 * gib) == (
        'device', 'search data placement: device (100.0 MiB <= device budget 1.0 GiB)')
    assert choose_placement('auto', 3 * gib, gib, 4 * gib) == (
        'host', 'search data placement: host (3.0 GiB > device budget 1.0 GiB, <= host budget '
                '4.0 GiB)')
    assert choose_placement('auto', 5 * gib, gib, 4 * gib) == (
        'stream', 'search data placement: stream (5.0 GiB > device budget 1.0 GiB, > host '
                  'budget 4.0 GiB)')
    assert choose_placement('host', 10, gib, gib) == (
        'host', "search data placement: host (10.0 B <= device budget 1.0 GiB, <= host budget "
                "1.0 GiB, data_placement='host')")
    assert choose_placement('stream', 10, gib, gib)[0] == 'stream'
    assert choose_placement('auto', 2**40, 2**50, 2**30)[1] == (
        'search data placement: device (1.0 TiB <= device budget 1024.0 TiB)')


@pytest.mark.parametrize('placement, budgets, message', [
    ('device', (2**30, 2**40),
     r"data_placement='device', but the search data take 3.0 GiB \(3221225472 bytes\), more "
     r'than the device memory budget of 1.0 GiB \(1073741824 bytes\); set '
     r"data_placement='auto' \(host memory, or a stream from the files\), or "
     r'train_dataloader.device_memory_budget=3221225472 or more'),
    ('host', (2**40, 2**30),
     r"data_placement='host', but the search data take 3.0 GiB \(3221225472 bytes\), more "
     r'than the host memory budget of 1.0 GiB \(1073741824 bytes\); set '
     r"data_placement='stream' or 'auto' \(read from the files every epoch\), or "
     r'train_dataloader.host_memory_budget=3221225472 or more'),
])
def test_forced_placement_over_its_budget_is_refused(placement, budgets, message):
    with pytest.raises(ValueError, match=message):
        choose_placement(placement, 3 * 2**30, *budgets)


def test_budgets_are_inclusive_thresholds():
    """Data of exactly a budget fit in it; one byte more do not."""
    assert choose_placement('auto', 1000, 1000, 2000)[0] == 'device'
    assert choose_placement('auto', 1001, 1000, 2000)[0] == 'host'
    assert choose_placement('auto', 2000, 1000, 2000)[0] == 'host'
    assert choose_placement('auto', 2001, 1000, 2000)[0] == 'stream'
    assert choose_placement('device', 1000, 1000, 0)[0] == 'device'
    assert choose_placement('host', 2000, 0, 2000)[0] == 'host'
    with pytest.raises(ValueError, match="data_placement='device'"):
        choose_placement('device', 1001, 1000, 2000)
    with pytest.raises(ValueError, match="data_placement='host'"):
        choose_placement('host', 2001, 1000, 2000)


def test_a_forced_stream_has_no_budget():
    assert choose_placement('stream', 2**50, 1, 1) == (
        'stream', "search data placement: stream (1024.0 TiB > device budget 1.0 B, > host "
                  "budget 1.0 B, data_placement='stream')")


def test_placements_and_units():
    assert DATA_PLACEMENTS == ('auto', 'device', 'host', 'stream')
    assert [parse_memory_size(f'1{unit}') for unit in ('KB', 'MB', 'GB', 'TB')] == [
        10**3, 10**6, 10**9, 10**12]
    assert parse_memory_size(' 3 TiB ') == 3 * 2**40
    with pytest.raises(ValueError, match=r'^train_dataloader.host_memory_budget must be '):
        parse_memory_size('1 PiB', 'host_memory_budget')


@pytest.mark.parametrize('size, text', [
    (0, '0.0 B'), (1023, '1023.0 B'), (1024, '1.0 KiB'), (1536, '1.5 KiB'),
    (2**20 - 1, '1024.0 KiB'), (2**20, '1.0 MiB'), (3 * 2**30, '3.0 GiB'), (2**50, '1024.0 TiB')])
def test_format_size_in_the_largest_binary_unit(size, text):
    assert format_size(size) == text


def test_default_budgets(monkeypatch):
    from mmrnas.datasets import placement
    monkeypatch.setattr(placement, '_physical_memory', lambda: 64 * 2**30)
    assert default_memory_budget(torch.device('cpu')) == 16 * 2**30
    assert default_host_budget() == 32 * 2**30
