"""``SearchCheckpointer``: where a search's checkpoints go, which ones rotation deletes, and
which one a resume may continue from."""
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple, Union

from .search_checkpoint import (
    last_checkpoint_path,
    load_search_checkpoint,
    resume_checkpoint_path,
    save_search_checkpoint,
)
from .search_work_dir import move_search_aside, search_traces

__all__ = ['SearchCheckpointer']

FINAL_NAME = 'search_final.pth'
GENERATION_PREFIX = 'search_generation_'


class SearchCheckpointer:
    """Saves, rotates, finds, loads and checks the checkpoints of the search in one work dir
    (the file format is :mod:`~mmrnas.engine.search_checkpoint`'s).

    Checkpoints go to ``work_dir/checkpoints``: ``search_generation_GGG.pth`` after each
    generation and ``search_final.pth`` after the final selection; the pointer file
    ``work_dir/last_search_checkpoint`` names the newest. Rotation keeps the newest
    ``max_keep`` generation checkpoints and deletes only files this search wrote
    (:attr:`written`, recorded in every checkpoint as ``meta['checkpoints']``).

    Args:
        work_dir (str): The search's work dir.
        max_keep (int): Generation checkpoints kept.
        device_type (str): The device type the search runs on (``'cpu'``, ``'cuda'``): a
            checkpoint from another is refused, its random states belong there.
    """

    def __init__(self, work_dir: str, max_keep: int, device_type: str) -> None:
        self.work_dir = work_dir
        self.checkpoint_dir = osp.join(work_dir, 'checkpoints')
        self.max_keep = max_keep
        self.device_type = device_type
        #: Names (in ``checkpoint_dir``) of the checkpoints this search wrote, oldest first.
        self.written: List[str] = []

    def save(self, state: Dict[str, Any], generation: int, final: bool) -> str:
        """Write ``state`` (its ``meta['checkpoints']`` set to :attr:`written`) as the
        checkpoint of ``generation`` (completed generations) or of the final selection,
        atomically, point the work dir at it, then delete the generation checkpoints that
        fall out of the newest ``max_keep``; return its path. Call it on one process."""
        name = FINAL_NAME if final else f'{GENERATION_PREFIX}{generation:03d}.pth'
        written = [f for f in self.written if f != name] + [name]
        generations = [f for f in written if f.startswith(GENERATION_PREFIX)]
        stale = generations[:-self.max_keep]
        self.written = [f for f in written if f not in stale]
        state['meta']['checkpoints'] = list(self.written)
        path = osp.join(self.checkpoint_dir, name)
        save_search_checkpoint(state, path, self.work_dir)
        # Only checkpoints this search wrote, oldest first, once the new one is in place.
        for old in stale:
            if osp.isfile(osp.join(self.checkpoint_dir, old)):
                os.remove(osp.join(self.checkpoint_dir, old))
        return path

    def read(self, resume: Union[bool, str]) -> Tuple[str, Dict[str, Any]]:
        """Find (``resume=True``: the work dir's newest; else the path ``resume``), load (to
        the CPU) and check the checkpoint to resume from, before any work: a search checkpoint
        of this format, from this device type, and from this work dir unless the work dir holds
        no search. The settings are the loop's to check. Returns its path and state.

        Raises:
            FileNotFoundError: no checkpoint to continue, or the given one does not exist.
            ValueError: it is not a search checkpoint of this format, comes from another device
                type, or lies outside a work dir that holds a search.
        """
        path = resume_checkpoint_path(self.work_dir) if resume is True else str(resume)
        if not osp.isfile(path):
            raise FileNotFoundError(f'resume: search checkpoint {path!r} does not exist; give '
                                    f'the path of a search_*.pth file, or --resume alone for '
                                    f'the last checkpoint of the work dir')
        own = osp.realpath(self.checkpoint_dir)
        if osp.dirname(osp.realpath(path)) != own and search_traces(self.work_dir):
            raise ValueError(f'resume: {path} is outside {self.checkpoint_dir}, and the work dir '
                             f'holds a search that it would mix with; continue it in a new '
                             f'work dir (--work-dir DIR)')
        state = load_search_checkpoint(path)
        written_on = state['meta']['device']
        if written_on != self.device_type:
            raise ValueError(f'resume: {path} was written by a search on {written_on} and this '
                             f'one runs on {self.device_type}; its random states belong to '
                             f'{written_on}: resume it on a {written_on} machine')
        return path, state

    def restore(self, state: Dict[str, Any]) -> None:
        """Take over the list of written checkpoints of the checkpoint resumed from."""
        self.written = list(state['meta']['checkpoints'])

    def keep_later_results(self, resume_path: str) -> Optional[Tuple[str, str]]:
        """Before a resume from an earlier checkpoint than the work dir's newest overwrites
        the later checkpoints and outputs, copy the work dir aside (call it on one process).
        Returns ``(newest checkpoint, folder of the copy)``, or None when nothing was later."""
        newest = last_checkpoint_path(self.work_dir)
        if newest is None or osp.realpath(newest) == osp.realpath(resume_path):
            return None
        return newest, move_search_aside(self.work_dir, copy=True)
