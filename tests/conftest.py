"""Test isolation (MMEngine runners leave their default registry scope behind), the share of
the cores each pytest-xdist worker uses, and the tests that need the full install level."""
import copy
import os

import pytest
import torch
from mmengine.registry import DefaultScope

from mmrnas.utils.install_level import FULL_INSTALL_COMMAND, missing_for_full


def pytest_configure(config):
    """Under pytest-xdist (pytest.ini runs it), each worker takes an equal share of the cores
    for PyTorch's intra-op threads and, through ``OMP_NUM_THREADS``, for the processes the
    tests start: workers that each use every core slow each other several times over."""
    workers = os.environ.get('PYTEST_XDIST_WORKER_COUNT')
    if workers:
        threads = max(1, (os.cpu_count() or 1) // int(workers))
        torch.set_num_threads(threads)
        os.environ.setdefault('OMP_NUM_THREADS', str(threads))
    check_full_install_under_ci()


def check_full_install_under_ci():
    """CI (``CI`` set and not false) runs the README's full-level command and every test: a
    missing full level is an error there, before collection, not silently skipped tests."""
    if os.environ.get('CI', '').strip().lower() in ('', '0', 'false', 'no'):
        return
    missing = missing_for_full()
    if missing:
        raise pytest.UsageError(f'CI runs every test, and the full install is missing '
                                f'({", ".join(missing)} not installed): {FULL_INSTALL_COMMAND}')


def pytest_collection_modifyitems(config, items):
    """Test files with the most slow integration tests first, each file's tests kept together
    and in order: pytest-xdist hands out whole files (``--dist loadfile``), and the longest
    ones last would leave one worker waiting for the other at the end."""
    files = {}
    for item in items:
        files.setdefault(item.nodeid.split('::')[0], []).append(item)
    slow = {name: sum(item.get_closest_marker('slow') is not None for item in tests)
            for name, tests in files.items()}
    items[:] = [item for name in sorted(files, key=lambda name: -slow[name])
                for item in files[name]]
    skip_without_full_install(items)


def skip_without_full_install(items):
    """Under the core install level, the tests marked ``full_install`` are skipped with the
    command that installs the full level (under CI :func:`check_full_install_under_ci` has
    stopped the run before)."""
    needs = [item for item in items if item.get_closest_marker('full_install') is not None]
    missing = missing_for_full() if needs else []
    if not missing:
        return
    reason = f'needs the full install ({", ".join(missing)} not installed): {FULL_INSTALL_COMMAND}'
    for item in needs:
        item.add_marker(pytest.mark.skip(reason=reason))


def _restore_default_scope():
    saved = copy.copy(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict = saved


# Restored after each module (around module-scoped fixtures that build runners) and after each
# test, so a test never builds in the scope a previous runner set (e.g. mmrnas instead of
# mmpretrain). MMEngine's own DefaultScope.overwrite_default_scope restores the same way.
restore_default_scope_per_module = pytest.fixture(scope='module', autouse=True)(
    _restore_default_scope)
restore_default_scope_per_test = pytest.fixture(autouse=True)(_restore_default_scope)


@pytest.fixture
def one_thread():
    """One intra-op thread: the runs are tiny and two threads oversubscribe a busy 2-core box.
    Modules of small integration runs use it with ``pytest.mark.usefixtures('one_thread')``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
