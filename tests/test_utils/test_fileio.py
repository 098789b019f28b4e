"""atomic_write: all-or-nothing writes with normal file permissions."""
import os

import pytest

from mmrnas.utils import atomic_write


def test_text_bytes_and_writer(tmp_path):
    atomic_write(tmp_path / 'a' / 'text.txt', 'grüße\n')
    atomic_write(tmp_path / 'bytes.bin', b'\x00\x01')
    atomic_write(tmp_path / 'writer.bin', lambda f: f.write(b'abc'))
    assert (tmp_path / 'a' / 'text.txt').read_text(encoding='utf-8') == 'grüße\n'
    assert (tmp_path / 'bytes.bin').read_bytes() == b'\x00\x01'
    assert (tmp_path / 'writer.bin').read_bytes() == b'abc'


def test_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write(tmp_path / 'f.txt', 'x')
    finally:
        os.umask(old)
    assert (tmp_path / 'f.txt').stat().st_mode & 0o777 == 0o644


def test_failure_keeps_old_content_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / 'checkpoint.pth'
    atomic_write(target, b'old')

    def broken(f):
        f.write(b'half')
        raise RuntimeError('disk full')

    with pytest.raises(RuntimeError, match='disk full'):
        atomic_write(target, broken)
    assert target.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['checkpoint.pth']
