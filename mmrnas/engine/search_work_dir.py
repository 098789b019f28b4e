"""The work dir of a search: what an earlier search left there, and the rules that keep it.

A search owns its work dir: its checkpoints, the pointer to the newest one and its outputs
(``history.jsonl``, ``best_genotype.yaml``, ``final_selection.json``, ``pareto_front.yaml``,
drawings). A new search never starts in a work dir that holds one (it would overwrite its
outputs and its checkpoints); it continues it (resume), goes elsewhere, or moves it aside
first (:func:`move_search_aside`). A resume from an earlier checkpoint than the newest keeps
a copy of the later results there too.
"""
import glob
import os
import os.path as osp
import shutil
import time
from typing import List, Optional

from .search_checkpoint import LAST_CHECKPOINT_FILE

__all__ = [
    'SEARCH_MARKERS', 'PREVIOUS_SEARCHES_DIR', 'search_traces', 'check_new_search_work_dir',
    'move_search_aside'
]

#: Files (relative to the work dir, glob patterns) that only a search writes: any of them
#: means the work dir holds a search.
SEARCH_MARKERS = (LAST_CHECKPOINT_FILE, 'checkpoints/search_*.pth', 'history.jsonl',
                  'final_selection.json', 'best_genotype.yaml', 'seeds_summary.json',
                  'seed_*/' + LAST_CHECKPOINT_FILE, 'seed_*/checkpoints/search_*.pth')
#: Folder of the work dir that :func:`move_search_aside` moves earlier searches into.
PREVIOUS_SEARCHES_DIR = 'previous_searches'


def search_traces(work_dir: str) -> List[str]:
    """The files of ``work_dir`` (relative paths, sorted) that show it holds a search."""
    found = []
    for pattern in SEARCH_MARKERS:
        found += glob.glob(osp.join(glob.escape(work_dir), pattern))
    return sorted(osp.relpath(path, work_dir) for path in found)


def check_new_search_work_dir(work_dir: str) -> None:
    """Refuse to start a new search in a work dir that holds one.

    Raises:
        ValueError: one line naming what was found and the three ways on: resume, another
            work dir, or move the earlier search aside.
    """
    traces = search_traces(work_dir)
    if traces:
        shown = ', '.join(traces[:3]) + (f' and {len(traces) - 3} more' if len(traces) > 3
                                         else '')
        raise ValueError(
            f'the work dir {work_dir} holds a search ({shown}); a new search would overwrite '
            f'it: continue it with --resume (train_cfg.resume=True), start elsewhere with '
            f'--work-dir DIR, or move it aside with --start-over')


def _aside_folder(work_dir: str) -> str:
    """A new ``work_dir/previous_searches/<time>[_N]/`` folder."""
    stamp = time.strftime('%Y%m%d_%H%M%S')
    target = osp.join(work_dir, PREVIOUS_SEARCHES_DIR, stamp)
    suffix = 1
    while osp.exists(target):
        suffix += 1
        target = osp.join(work_dir, PREVIOUS_SEARCHES_DIR, f'{stamp}_{suffix}')
    os.makedirs(target)
    return target


def move_search_aside(work_dir: str, copy: bool = False) -> Optional[str]:
    """Put what ``work_dir`` holds (a search, its logs, everything but earlier moves) into
    ``work_dir/previous_searches/<time>/``, and return that folder; None, and nothing touched,
    when the work dir holds no search (:func:`search_traces`).

    Args:
        work_dir (str): The work dir.
        copy (bool): Copy instead of moving (the search goes on from one of its files).
    """
    if not search_traces(work_dir):
        return None
    names = sorted(set(os.listdir(work_dir)) - {PREVIOUS_SEARCHES_DIR})
    target = _aside_folder(work_dir)
    for name in names:
        source, destination = osp.join(work_dir, name), osp.join(target, name)
        if not copy:
            os.replace(source, destination)
        elif osp.isdir(source):
            shutil.copytree(source, destination, symlinks=True)
        else:
            shutil.copy2(source, destination)
    return target
