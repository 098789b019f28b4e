"""SearchCheckpointer on its own: names, rotation of only its own files, the pointer, and the
checks of a checkpoint to resume from."""
import os

import pytest
import torch

from mmrnas.engine.search_checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_KIND,
    LAST_CHECKPOINT_FILE,
    load_search_checkpoint,
)
from mmrnas.engine.search_checkpointer import SearchCheckpointer


def state(generation: int, device: str = 'cpu') -> dict:
    return dict(meta=dict(kind=CHECKPOINT_KIND, format=CHECKPOINT_FORMAT, device=device,
                          settings={}, resume_log=[]),
                generation=generation, weights=torch.full((2, ), float(generation)))


def pointed(work_dir) -> str:
    return (work_dir / LAST_CHECKPOINT_FILE).read_text()


def test_rotation_deletes_only_its_own_generation_checkpoints(tmp_path):
    checkpoints = SearchCheckpointer(str(tmp_path), max_keep=2, device_type='cpu')
    folder = tmp_path / 'checkpoints'
    folder.mkdir()
    (folder / 'search_generation_000.pth').write_bytes(b'not ours')  # e.g. copied in by hand
    for generation in (1, 2, 3):
        path = checkpoints.save(state(generation), generation, final=False)
        assert path == str(folder / f'search_generation_{generation:03d}.pth')
        assert pointed(tmp_path) == f'checkpoints/search_generation_{generation:03d}.pth'
    checkpoints.save(state(3), 3, final=True)
    assert sorted(os.listdir(folder)) == ['search_final.pth', 'search_generation_000.pth',
                                          'search_generation_002.pth',
                                          'search_generation_003.pth']
    assert checkpoints.written == ['search_generation_002.pth', 'search_generation_003.pth',
                                   'search_final.pth']
    assert pointed(tmp_path) == 'checkpoints/search_final.pth'
    # every checkpoint records what had been written when it was saved
    saved = load_search_checkpoint(str(folder / 'search_generation_003.pth'))
    assert saved['meta']['checkpoints'] == ['search_generation_002.pth',
                                            'search_generation_003.pth']
    assert load_search_checkpoint(str(folder / 'search_final.pth'))['meta']['checkpoints'] == (
        checkpoints.written)


def test_a_resumed_search_rotates_what_the_first_run_wrote(tmp_path):
    first = SearchCheckpointer(str(tmp_path), max_keep=1, device_type='cpu')
    first.save(state(1), 1, final=False)
    path, saved = SearchCheckpointer(str(tmp_path), 1, 'cpu').read(True)
    resumed = SearchCheckpointer(str(tmp_path), max_keep=1, device_type='cpu')
    resumed.restore(saved)
    resumed.save(state(2), 2, final=False)
    assert os.listdir(tmp_path / 'checkpoints') == ['search_generation_002.pth']
    assert path == str(tmp_path / 'checkpoints' / 'search_generation_001.pth')


def test_read_refuses_before_any_work(tmp_path):
    checkpoints = SearchCheckpointer(str(tmp_path / 'run'), max_keep=3, device_type='cpu')
    with pytest.raises(FileNotFoundError, match='resume: no search to continue in'):
        checkpoints.read(True)
    with pytest.raises(FileNotFoundError, match=r"search checkpoint '.*missing.pth' does not"):
        checkpoints.read(str(tmp_path / 'missing.pth'))
    # a checkpoint of another device type
    cuda_run = SearchCheckpointer(str(tmp_path / 'cuda_run'), 3, 'cuda')
    path = cuda_run.save(state(1, device='cuda'), 1, final=False)
    with pytest.raises(ValueError) as error:
        SearchCheckpointer(str(tmp_path / 'cuda_run'), 3, 'cpu').read(True)
    assert str(error.value) == (
        f'resume: {path} was written by a search on cuda and this one runs on cpu; its random '
        f'states belong to cuda: resume it on a cuda machine')
    # from elsewhere into a work dir that holds a search
    checkpoints.save(state(1), 1, final=False)
    with pytest.raises(ValueError, match='is outside .* holds a search that it would mix'):
        SearchCheckpointer(str(tmp_path / 'run'), 3, 'cuda').read(path)
    # ... but into an empty one it may
    assert SearchCheckpointer(str(tmp_path / 'new'), 3, 'cuda').read(path)[0] == path


def test_keep_later_results_copies_the_work_dir_aside(tmp_path):
    checkpoints = SearchCheckpointer(str(tmp_path), max_keep=3, device_type='cpu')
    first = checkpoints.save(state(1), 1, final=False)
    newest = checkpoints.save(state(2), 2, final=False)
    assert checkpoints.keep_later_results(newest) is None  # resuming from the newest
    assert not (tmp_path / 'previous_searches').exists()
    reported, kept = checkpoints.keep_later_results(first)
    assert reported == newest
    assert sorted(os.listdir(os.path.join(kept, 'checkpoints'))) == [
        'search_generation_001.pth', 'search_generation_002.pth']
    assert os.path.isfile(newest)  # copied, not moved
