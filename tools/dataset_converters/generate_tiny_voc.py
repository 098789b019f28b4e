"""Write a tiny, learnable PASCAL VOC detection dataset of handwritten digits, in the real VOC
layout.

Usage: python tools/dataset_converters/generate_tiny_voc.py ROOT
           [--num-train N] [--num-train-2012 N] [--num-test N] [--seed S]

ROOT gets what mmdet's ``VOCDataset`` (and the VOC07+12 configs) read from ``data/VOCdevkit``::

    VOC2007/JPEGImages/000001.jpg ...
    VOC2007/Annotations/000001.xml ...
    VOC2007/ImageSets/Main/trainval.txt, test.txt
    VOC2012/JPEGImages/2012_000001.jpg ...
    VOC2012/Annotations/2012_000001.xml ...
    VOC2012/ImageSets/Main/trainval.txt

Each image shows 1-3 real handwritten digits (scikit-learn's 8x8 ``load_digits``, upscaled
smoothly to 28-80 px and drawn in a random colour) on a smooth, noisy background of another
colour, without overlaps. Digit ``d`` is an object of the VOC class with index ``d``
(``aeroplane`` for 0 ... ``cow`` for 9), so 10 of the 20 classes occur. The box is the digit's
ink (stroke intensity above a quarter of the maximum), in VOC's 1-based inclusive pixel
coordinates. A few objects (``difficult_prob``) are marked difficult, as in VOC; detectors and
the VOC metric ignore them. Test images use other digit samples than training images.

Everything follows from ``seed``: the same arguments give byte-identical files.
"""
import argparse
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple
from xml.etree import ElementTree as ET

import cv2
import numpy as np

__all__ = ['VOC_CLASSES', 'generate_tiny_voc']

#: The 20 PASCAL VOC classes, in the standard order (mmdet's ``VOCDataset.METAINFO``).
VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
               'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant',
               'sheep', 'sofa', 'train', 'tvmonitor')

_CANVAS_RANGE = (128, 192)  # image width and height, pixels
_DIGIT_RANGE = (28, 80)  # digit side, pixels
_INK_THRESHOLD = 0.25  # ink = intensity above this fraction of the maximum
_TEST_FRACTION = 0.3  # digit samples kept for the test images


def _load_digits() -> Tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as float32 intensities in [0, 1] (N x 8 x 8) and labels."""
    from sklearn.datasets import load_digits
    bunch = load_digits()
    return (bunch.images / 16.0).astype(np.float32), bunch.target.astype(np.int64)


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A smooth two-colour gradient plus mild noise, float32 BGR in [0, 255]."""
    start, end = rng.uniform(0, 255, (2, 3))
    angle = rng.uniform(0, 2 * np.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (xs * np.cos(angle) + ys * np.sin(angle))
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1.0)
    image = start + (end - start) * ramp[..., None]
    image += rng.normal(0, 8, image.shape)
    return image.astype(np.float32)


def _place(rng: np.random.Generator, size: int, width: int, height: int,
           taken: List[Tuple[int, int, int, int]]) -> Optional[Tuple[int, int]]:
    """Top-left corner of a ``size`` square inside the image, away from ``taken`` squares."""
    for _ in range(50):
        x, y = int(rng.integers(0, width - size + 1)), int(rng.integers(0, height - size + 1))
        if all(x + size <= tx or tx + ts <= x or y + size <= ty or ty + ts <= y
               for tx, ty, ts, _ in taken):
            return x, y
    return None


def _colour_far_from(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    """A random BGR colour at least 120 (Euclidean) away from the background's mean colour."""
    mean = background.reshape(-1, 3).mean(axis=0)
    while True:
        colour = rng.uniform(0, 255, 3)
        if np.linalg.norm(colour - mean) >= 120:
            return colour


def _draw_image(rng: np.random.Generator, digits: np.ndarray, labels: np.ndarray,
                pool: np.ndarray,
                difficult_prob: float) -> Tuple[np.ndarray, List[Dict[str, int]]]:
    """One image and its objects (VOC 1-based inclusive boxes)."""
    width, height = (int(v) for v in rng.integers(_CANVAS_RANGE[0], _CANVAS_RANGE[1] + 1, 2))
    image = _background(rng, height, width)
    objects: List[Dict[str, int]] = []
    taken: List[Tuple[int, int, int, int]] = []
    for _ in range(int(rng.integers(1, 4))):
        size = int(rng.integers(_DIGIT_RANGE[0], _DIGIT_RANGE[1] + 1))
        corner = _place(rng, size, width, height, taken)
        if corner is None:
            continue
        x, y = corner
        index = int(pool[rng.integers(len(pool))])
        alpha = cv2.resize(digits[index], (size, size), interpolation=cv2.INTER_CUBIC)
        alpha = np.clip(alpha, 0.0, 1.0)
        colour = _colour_far_from(rng, image[y:y + size, x:x + size])
        patch = image[y:y + size, x:x + size]
        image[y:y + size, x:x + size] = patch * (1 - alpha[..., None]) + colour * alpha[..., None]
        rows, cols = np.nonzero(alpha > _INK_THRESHOLD * alpha.max())
        taken.append((x, y, size, index))
        objects.append(
            dict(
                label=int(labels[index]),
                xmin=x + int(cols.min()) + 1,
                ymin=y + int(rows.min()) + 1,
                xmax=x + int(cols.max()) + 1,
                ymax=y + int(rows.max()) + 1,
                difficult=int(rng.random() < difficult_prob)))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), objects


def _annotation_xml(folder: str, image_id: str, width: int, height: int,
                    objects: Sequence[Dict[str, int]]) -> bytes:
    """A VOC annotation file."""
    root = ET.Element('annotation')
    ET.SubElement(root, 'folder').text = folder
    ET.SubElement(root, 'filename').text = f'{image_id}.jpg'
    source = ET.SubElement(root, 'source')
    ET.SubElement(source, 'database').text = 'mmrnas tiny VOC (scikit-learn digits)'
    size = ET.SubElement(root, 'size')
    ET.SubElement(size, 'width').text = str(width)
    ET.SubElement(size, 'height').text = str(height)
    ET.SubElement(size, 'depth').text = '3'
    ET.SubElement(root, 'segmented').text = '0'
    for obj in objects:
        element = ET.SubElement(root, 'object')
        ET.SubElement(element, 'name').text = VOC_CLASSES[obj['label']]
        ET.SubElement(element, 'pose').text = 'Unspecified'
        ET.SubElement(element, 'truncated').text = '0'
        ET.SubElement(element, 'difficult').text = str(obj['difficult'])
        box = ET.SubElement(element, 'bndbox')
        for key in ('xmin', 'ymin', 'xmax', 'ymax'):
            ET.SubElement(box, key).text = str(obj[key])
    ET.indent(root)
    return ET.tostring(root, encoding='utf-8') + b'\n'


def _write_split(year_dir: Path, image_ids: Sequence[str], rng: np.random.Generator,
                 digits: np.ndarray, labels: np.ndarray, pool: np.ndarray,
                 difficult_prob: float) -> int:
    """Write the images and annotations of ``image_ids``; return the number of objects."""
    num_objects = 0
    for image_id in image_ids:
        image, objects = _draw_image(rng, digits, labels, pool, difficult_prob)
        height, width = image.shape[:2]
        ok, jpeg = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise RuntimeError(f'could not encode {image_id}.jpg')
        (year_dir / 'JPEGImages' / f'{image_id}.jpg').write_bytes(jpeg.tobytes())
        (year_dir / 'Annotations' / f'{image_id}.xml').write_bytes(
            _annotation_xml(year_dir.name, image_id, width, height, objects))
        num_objects += len(objects)
    return num_objects


def generate_tiny_voc(root,
                      num_train: int = 64,
                      num_test: int = 32,
                      num_train_2012: int = 32,
                      seed: int = 0,
                      difficult_prob: float = 0.05) -> Dict[str, Dict[str, int]]:
    """Write the dataset under ``root`` (the ``VOCdevkit`` folder).

    Args:
        root (str | Path): Output folder; created if missing.
        num_train (int): VOC2007 trainval images. Defaults to 64.
        num_test (int): VOC2007 test images. Defaults to 32.
        num_train_2012 (int): VOC2012 trainval images. Defaults to 32.
        seed (int): Seed of everything drawn. Defaults to 0.
        difficult_prob (float): Probability that an object is marked difficult.
            Defaults to 0.05.

    Returns:
        dict: ``{'VOC2007/trainval': {'images': n, 'objects': m}, ...}``.
    """
    if min(num_train, num_test, num_train_2012) < 1:
        raise ValueError('every split needs at least one image')
    root = Path(root)
    digits, labels = _load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits))
    num_test_digits = int(len(digits) * _TEST_FRACTION)
    train_pool, test_pool = order[num_test_digits:], order[:num_test_digits]

    splits = {
        ('VOC2007', 'trainval'): [f'{i:06d}' for i in range(1, num_train + 1)],
        ('VOC2007', 'test'): [f'{i:06d}' for i in range(num_train + 1,
                                                       num_train + num_test + 1)],
        ('VOC2012', 'trainval'): [f'2012_{i:06d}' for i in range(1, num_train_2012 + 1)],
    }
    summary = {}
    for (year, split), image_ids in splits.items():
        year_dir = root / year
        for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
            (year_dir / sub).mkdir(parents=True, exist_ok=True)
        pool = test_pool if split == 'test' else train_pool
        num_objects = _write_split(year_dir, image_ids, rng, digits, labels, pool,
                                   difficult_prob)
        (year_dir / 'ImageSets' / 'Main' / f'{split}.txt').write_text(
            ''.join(f'{image_id}\n' for image_id in image_ids))
        summary[f'{year}/{split}'] = dict(images=len(image_ids), objects=num_objects)
    return summary


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a tiny VOC-format detection dataset of handwritten digits.')
    parser.add_argument('root', help='output folder (the VOCdevkit folder)')
    parser.add_argument('--num-train', type=int, default=64, help='VOC2007 trainval images')
    parser.add_argument('--num-test', type=int, default=32, help='VOC2007 test images')
    parser.add_argument(
        '--num-train-2012', type=int, default=32, help='VOC2012 trainval images')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--difficult-prob', type=float, default=0.05, help='share of difficult objects')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    summary = generate_tiny_voc(args.root, args.num_train, args.num_test,
                                args.num_train_2012, args.seed, args.difficult_prob)
    for split, counts in summary.items():
        print(f'{split}: {counts["images"]} images, {counts["objects"]} objects')


if __name__ == '__main__':
    main()
