"""Prepare Fashion-MNIST in the layout mmpretrain's ``FashionMNIST`` dataset reads.

Usage: python tools/dataset_converters/fashion_mnist.py [SOURCE] [--out data/fashion_mnist]

SOURCE is a folder with the four files of the official release (70,000 real 28x28 grey images
of clothing, 10 classes)::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

By default :data:`DEBIAN_FOLDER`, where Debian's package ``dataset-fashion-mnist`` puts them
(``apt-get install dataset-fashion-mnist``); elsewhere download them from
:data:`OFFICIAL`. Each file is checked (the MD5 mmpretrain lists for the release's .gz, or the
SHA-256 of its unpacked content, which a repackaged copy keeps), unpacked into
OUT (mmpretrain's ``FashionMNIST`` reads the unpacked files, and chooses the training or the
test files by ``test_mode``; set ``split`` to match, or it warns), and its header checked
(idx magic number, 60,000 or 10,000 items of 28x28). All four are checked before any is
written; each is written atomically, and one that is already
there and right is left as it is. A missing or damaged file is one ``error:`` line naming the
package and the download, exit code 2.
"""
import argparse
import gzip
import hashlib
import os.path as osp
import struct
import sys
from typing import Dict, List, Optional, Tuple

from mmrnas.utils.fileio import atomic_write

PROG = 'fashion_mnist.py'
DEBIAN_FOLDER = '/usr/share/datasets/fashion-mnist'
OFFICIAL = 'https://github.com/zalandoresearch/fashion-mnist'
#: File -> (MD5 of the release's .gz as mmpretrain's FashionMNIST lists it, SHA-256 of the
#: unpacked content, idx magic, item count). Repackaged copies (Debian's are compressed again)
#: differ in the .gz but not in the content.
FILES: Dict[str, Tuple[str, str, int, int]] = {
    'train-images-idx3-ubyte.gz': (
        '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
        'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888', 2051, 60000),
    'train-labels-idx1-ubyte.gz': (
        '25c81989df183df01b3e8a0aad5dffbe',
        'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9', 2049, 60000),
    't10k-images-idx3-ubyte.gz': (
        'bef4ecab320f06d8554ea6380940ec79',
        '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b', 2051, 10000),
    't10k-labels-idx1-ubyte.gz': (
        'bb300cfdad3c16e7a12a480ee83cd310',
        '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34', 2049, 10000),
}
SIDE = 28


def check_header(name: str, data: bytes, magic: int, count: int) -> None:
    """The idx header of an unpacked file: magic number, item count, 28x28 images."""
    fields = 3 if magic == 2051 else 1
    header = struct.unpack(f'>{fields + 1}I', data[:4 * (fields + 1)])
    expected = (magic, count, SIDE, SIDE)[:fields + 1]
    size = 4 * (fields + 1) + count * (SIDE * SIDE if magic == 2051 else 1)
    if header != expected or len(data) != size:
        raise ValueError(f'{name}: idx header {header} and {len(data)} bytes, expected '
                         f'{expected} and {size}')


def prepare(source: str, out: str) -> List[str]:
    """Check and unpack the four files of ``source`` into ``out``; the lines to print."""
    if not osp.isdir(source):
        raise FileNotFoundError(f'{source} is not a folder: install Debian\'s package '
                                f'(apt-get install dataset-fashion-mnist, into {DEBIAN_FOLDER}) '
                                f'or download the four files from {OFFICIAL} and pass their '
                                f'folder')
    missing = [name for name in FILES if not osp.isfile(osp.join(source, name))]
    if missing:
        raise FileNotFoundError(
            f'{source} lacks {", ".join(missing)}: install Debian\'s package '
            f'(apt-get install dataset-fashion-mnist, into {DEBIAN_FOLDER}) or download the '
            f'four files from {OFFICIAL} and pass their folder')
    contents = {}
    for name, (md5, sha256, magic, count) in FILES.items():
        path = osp.join(source, name)
        packed = open(path, 'rb').read()
        try:
            data = gzip.decompress(packed)
        except (OSError, EOFError) as error:
            raise ValueError(f'{path} is not a gzip file ({error}): download it again from '
                             f'{OFFICIAL}') from error
        if hashlib.md5(packed).hexdigest() != md5 and hashlib.sha256(
                data).hexdigest() != sha256:
            raise ValueError(f'{path} is not the release\'s file (neither its MD5 nor the '
                             f'SHA-256 of its content match): download it again from '
                             f'{OFFICIAL}')
        check_header(name, data, magic, count)
        contents[name] = data
    lines = []  # all four are right: only now is anything written
    for name, data in contents.items():
        _, _, magic, count = FILES[name]
        target = osp.join(out, name[:-len('.gz')])
        if osp.isfile(target) and open(target, 'rb').read() == data:
            lines.append(f'{target}: already there')
            continue
        atomic_write(target, data)
        lines.append(f'{target}: {count:,} {"images" if magic == 2051 else "labels"}')
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n\n')[0])
    parser.add_argument('source', nargs='?', default=DEBIAN_FOLDER,
                        help=f'folder of the four .gz files (default {DEBIAN_FOLDER})')
    parser.add_argument('--out', default=osp.join('data', 'fashion_mnist'))
    args = parser.parse_args(argv)
    try:
        lines = prepare(args.source, args.out)
    except (OSError, ValueError) as error:
        print(f'{PROG}: error: {error}', file=sys.stderr)
        return 2
    print('\n'.join(lines))
    print(f"read it with dict(type='FashionMNIST', data_root={args.out!r}, test_mode=False) "
          f'(training, 60,000) or test_mode=True (test, 10,000)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
