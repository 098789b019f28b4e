"""Atomic file writes: a reader never sees a half-written output or checkpoint."""
import os
import os.path as osp
import tempfile
from typing import IO, Callable, Union

__all__ = ['atomic_write']

Content = Union[str, bytes, Callable[[IO[bytes]], None]]


def atomic_write(path: Union[str, os.PathLike], content: Content) -> None:
    """Write ``path`` through a temporary file in the same folder, then rename it over.

    The rename is atomic on POSIX file systems: after a crash ``path`` holds either the old
    content or the new one. Missing parent folders are created; the temporary file is
    removed if writing fails.

    Args:
        path (str | PathLike): Destination.
        content (str | bytes | callable): Text (UTF-8), bytes, or a function that writes to
            the binary file object it is given (e.g. ``lambda f: torch.save(obj, f)``).
    """
    path = os.fspath(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(path)}.', suffix='.tmp')
    try:
        with os.fdopen(handle, 'wb') as f:
            if callable(content):
                content(f)
            else:
                f.write(content.encode('utf-8') if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates the file with mode 0600
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
