"""Write a tiny image-classification folder of real handwritten digits, one sub-folder per class,
as real PNG or JPEG files: the layout mmpretrain's ``CustomDataset`` reads (and
``configs/rnas_custom-folder.py`` searches on).

Usage: python tools/dataset_converters/generate_tiny_image_folder.py OUT
           [--classes N] [--per-class M] [--val-per-class V] [--size S] [--format png|jpg]

OUT gets::

    train/0/0000.png ... train/N-1/...   M images per class (searched on, retrained on)
    val/0/0000.png ...   val/N-1/...     V other images per class (retraining's validation)

The images are scikit-learn's 8x8 digits (``load_digits``; class ``d`` is digit ``d``), scaled
0..16 -> 0..255 and resized bilinearly to S x S grey-level images; each class takes its digits
in the data's order, training images first. The same arguments give the same files.
"""
import argparse
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

__all__ = ['generate_tiny_image_folder']

FORMATS = ('png', 'jpg')


def generate_tiny_image_folder(out: str, classes: int = 10, per_class: int = 100,
                               val_per_class: int = 20, size: int = 32,
                               image_format: str = 'png') -> Dict[str, int]:
    """Write the folder; return the number of images written per split."""
    from PIL import Image
    from sklearn.datasets import load_digits

    if not 2 <= classes <= 10:
        raise ValueError(f'--classes must be in 2..10 (the digits), got {classes}')
    if per_class < 1 or val_per_class < 0 or size < 1:
        raise ValueError('--per-class and --size must be positive, --val-per-class >= 0')
    if image_format not in FORMATS:
        raise ValueError(f'--format must be one of {FORMATS}, got {image_format!r}')
    bunch = load_digits()
    pixels = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)
    counts = dict(train=0, val=0)
    for label in range(classes):
        indices = np.flatnonzero(bunch.target == label)
        if per_class + val_per_class > len(indices):
            raise ValueError(f'digit {label} has {len(indices)} images; ask for at most that '
                             f'many with --per-class + --val-per-class')
        parts = dict(train=indices[:per_class],
                     val=indices[per_class:per_class + val_per_class])
        for split, chosen in parts.items():
            if not len(chosen):
                continue
            folder = Path(out) / split / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            for number, index in enumerate(chosen):
                image = Image.fromarray(pixels[index], mode='L').resize((size, size),
                                                                         Image.BILINEAR)
                image.save(folder / f'{number:04d}.{image_format}',
                           **({'quality': 95} if image_format == 'jpg' else {}))
            counts[split] += len(chosen)
    return counts


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a tiny image folder (one sub-folder per class) of real digits.')
    parser.add_argument('out', help='output folder (gets train/ and val/)')
    parser.add_argument('--classes', type=int, default=10, help='number of classes (2-10)')
    parser.add_argument('--per-class', type=int, default=100,
                        help='training images per class')
    parser.add_argument('--val-per-class', type=int, default=20,
                        help='validation images per class (0: no val/)')
    parser.add_argument('--size', type=int, default=32, help='image side, pixels')
    parser.add_argument('--format', choices=FORMATS, default='png', help='file format')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    counts = generate_tiny_image_folder(args.out, args.classes, args.per_class,
                                        args.val_per_class, args.size, args.format)
    print(f'{args.out}: {counts["train"]} training and {counts["val"]} validation images in '
          f'{args.classes} classes, {args.size}x{args.size} {args.format}')


if __name__ == '__main__':
    main()
