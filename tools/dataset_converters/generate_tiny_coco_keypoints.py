"""Write a tiny, learnable COCO-keypoints dataset of stick figures, in the real COCO layout.

Usage: python tools/dataset_converters/generate_tiny_coco_keypoints.py ROOT
           [--num-train N] [--num-val N] [--seed S] [--image-size W H]

ROOT gets what mmpose's ``CocoDataset`` reads from ``data/coco``::

    annotations/person_keypoints_train2017.json
    annotations/person_keypoints_val2017.json
    train2017/000000000001.jpg ...
    val2017/000000000001.jpg ...

Each image shows one front-facing stick figure on a noisy background, with random pose
parameters (torso and head tilt, head yaw, arm and leg angles, knee and elbow bends, size and
position). Its 17 COCO joints are drawn as blobs coloured by joint *type* (nose, eye, ear,
shoulder, elbow, wrist, hip, knee, ankle): left and right share a colour and differ by position
(the figure faces the viewer, so its left side is on the image's right), which, as for real
people, stays consistent under horizontal flipping. All joints lie inside the image and are
labelled visible (v=2). The box is the joints' extent plus a small margin; the area is half
the box area (a COCO person's segment covers roughly half its box; the area scales OKS).

Everything follows from ``seed``: the same arguments give byte-identical files.
"""
import argparse
import json
import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

__all__ = ['KEYPOINT_NAMES', 'SKELETON', 'generate_tiny_coco_keypoints', 'sample_keypoints']

KEYPOINT_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
                  'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
                  'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                  'right_ankle')
# The COCO person skeleton (1-based keypoint indices), as in person_keypoints_*.json.
SKELETON = ([16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
            [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7])
# Blob colour (BGR) of each joint type; left and right joints share their type's colour.
_TYPE_COLOURS = {
    'nose': (0, 0, 255),
    'eye': (255, 0, 0),
    'ear': (255, 255, 0),
    'shoulder': (0, 255, 255),
    'elbow': (255, 0, 255),
    'wrist': (0, 255, 0),
    'hip': (0, 128, 255),
    'knee': (255, 0, 128),
    'ankle': (255, 255, 255),
}
# Limbs drawn as lines (0-based indices), plus the torso drawn as a filled quadrilateral.
_LIMBS = ((5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16))
_SHIFT = 4  # cv2 fixed-point bits: sub-pixel drawing at the exact keypoint positions
_SPLITS = ('train2017', 'val2017')


def _joint_type(name: str) -> str:
    return name.split('_')[-1]


def _direction(angle_deg: float) -> np.ndarray:
    """Unit vector at ``angle_deg`` from straight down, positive towards the image's right."""
    angle = math.radians(angle_deg)
    return np.array([math.sin(angle), math.cos(angle)])


def sample_keypoints(rng: np.random.Generator,
                     unit: float) -> Tuple[np.ndarray, np.ndarray, float]:
    """Sample a front-facing pose for a figure about ``unit`` pixels tall: its 17 keypoints
    (x, y), the head centre (pixels, relative to the pelvis) and the head radius."""
    tilt = rng.uniform(-15, 15)  # torso lean from vertical
    up = -_direction(tilt)
    side = _direction(tilt + 90)  # perpendicular, towards the image's right (figure's left)
    points = np.zeros((17, 2))
    pelvis = np.zeros(2)
    neck = pelvis + 0.30 * unit * up
    # Head: tilted against the torso, turned left / right (yaw moves the face features).
    head_tilt = tilt + rng.uniform(-20, 20)
    head_up, head_side = -_direction(head_tilt), _direction(head_tilt + 90)
    head_radius = 0.065 * unit
    head = neck + 0.11 * unit * head_up
    yaw = rng.uniform(-0.5, 0.5)
    points[0] = head - 0.01 * unit * head_up + 0.035 * unit * yaw * head_side  # nose
    for index, sign in ((1, 1), (2, -1)):  # eyes
        points[index] = (head + 0.02 * unit * head_up +
                         (0.027 * sign + 0.02 * yaw) * unit * head_side)
    for index, sign in ((3, 1), (4, -1)):  # ears
        points[index] = head + (0.06 * sign - 0.01 * yaw) * unit * head_side
    # Arms and legs; sign +1 for the figure's left (image right), -1 for its right.
    for sign, shoulder, elbow, wrist, hip, knee, ankle in ((1, 5, 7, 9, 11, 13, 15),
                                                          (-1, 6, 8, 10, 12, 14, 16)):
        points[shoulder] = neck + sign * 0.11 * unit * side
        arm = tilt + sign * rng.uniform(-20, 160)  # 0: hanging down, 90: horizontal, outwards
        points[elbow] = points[shoulder] + 0.15 * unit * _direction(arm)
        forearm = arm + sign * rng.uniform(-30, 140)
        points[wrist] = points[elbow] + 0.13 * unit * _direction(forearm)
        points[hip] = pelvis + sign * 0.07 * unit * side
        leg = tilt + sign * rng.uniform(-10, 45)
        points[knee] = points[hip] + 0.22 * unit * _direction(leg)
        shin = leg - sign * rng.uniform(-10, 60)
        points[ankle] = points[knee] + 0.22 * unit * _direction(shin)
    return points, head, head_radius


def _fixed(point: Sequence[float]) -> Tuple[int, int]:
    return int(round(point[0] * (1 << _SHIFT))), int(round(point[1] * (1 << _SHIFT)))


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A colour gradient plus noise, with a few faint rectangles as clutter."""
    start, end = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    ramp = np.linspace(0, 1, width)[None, :, None]
    image = np.broadcast_to(start + (end - start) * ramp, (height, width, 3)).copy()
    image += rng.normal(0, 12, image.shape)
    for _ in range(3):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        x1, y1 = x0 + rng.integers(8, width // 2), y0 + rng.integers(8, height // 2)
        colour = rng.uniform(0, 255, 3)
        image[y0:y1, x0:x1] = 0.7 * image[y0:y1, x0:x1] + 0.3 * colour
    return image


def _render(rng: np.random.Generator, width: int,
            height: int) -> Tuple[np.ndarray, np.ndarray, List[float]]:
    """One image with one figure: (BGR uint8 image, keypoints (17, 2), xywh box)."""
    unit = rng.uniform(0.55, 0.85) * height
    points, head, head_radius = sample_keypoints(rng, unit)
    margin = 0.05 * unit
    low = np.minimum(points.min(0), head - head_radius) - margin
    high = np.maximum(points.max(0), head + head_radius) + margin
    size = high - low
    # Place the figure so that its box lies inside the image (shrink it if it does not fit).
    fit = min(1.0, (width - 1) / size[0], (height - 1) / size[1])
    points, head, low, size = points * fit, head * fit, low * fit, size * fit
    unit, head_radius = unit * fit, head_radius * fit
    offset = np.array([rng.uniform(-low[0], width - 1 - low[0] - size[0]),
                       rng.uniform(-low[1], height - 1 - low[1] - size[1])])
    points, head = points + offset, head + offset
    box_low = low + offset

    image = _background(rng, width, height)
    image = np.clip(image, 0, 255).astype(np.uint8)
    body = tuple(int(c) for c in rng.integers(90, 200, 3))
    skin = tuple(int(c) for c in rng.integers(120, 230, 3))
    thickness = max(2, int(round(0.035 * unit)))
    torso = np.array([_fixed(points[i]) for i in (5, 6, 12, 11)], dtype=np.int32)
    cv2.fillPoly(image, [torso], body, lineType=cv2.LINE_AA, shift=_SHIFT)
    for a, b in _LIMBS:
        cv2.line(image, _fixed(points[a]), _fixed(points[b]), body, thickness, cv2.LINE_AA,
                 _SHIFT)
    cv2.circle(image, _fixed(head), int(round(head_radius * (1 << _SHIFT))), skin, -1,
               cv2.LINE_AA, _SHIFT)
    joint_radius = max(2.0, 0.022 * unit)
    face_radius = max(1.5, 0.014 * unit)
    for index, name in enumerate(KEYPOINT_NAMES):
        radius = face_radius if index < 5 else joint_radius
        cv2.circle(image, _fixed(points[index]), int(round(radius * (1 << _SHIFT))),
                   _TYPE_COLOURS[_joint_type(name)], -1, cv2.LINE_AA, _SHIFT)
    box = [float(box_low[0]), float(box_low[1]), float(size[0]), float(size[1])]
    return image, points, box


def _write_split(root: Path, split: str, count: int, rng: np.random.Generator,
                 image_size: Tuple[int, int]) -> Path:
    width, height = image_size
    (root / split).mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for index in range(1, count + 1):
        image, points, box = _render(rng, width, height)
        file_name = f'{index:012d}.jpg'
        ok, encoded = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        if not ok:
            raise RuntimeError(f'could not encode {file_name}')
        (root / split / file_name).write_bytes(encoded.tobytes())
        keypoints = []
        for x, y in points:
            keypoints += [round(float(x), 2), round(float(y), 2), 2]
        box = [round(v, 2) for v in box]
        images.append(dict(id=index, file_name=file_name, width=width, height=height,
                           license=1))
        annotations.append(
            dict(id=index, image_id=index, category_id=1, iscrowd=0, bbox=box,
                 area=round(0.5 * box[2] * box[3], 2), num_keypoints=len(KEYPOINT_NAMES),
                 keypoints=keypoints, segmentation=[]))
    content = dict(
        info=dict(description=f'tiny stick-figure COCO keypoints ({split})', version='1.0'),
        licenses=[dict(id=1, name='generated', url='')],
        images=images,
        annotations=annotations,
        categories=[
            dict(supercategory='person', id=1, name='person', keypoints=list(KEYPOINT_NAMES),
                 skeleton=[list(link) for link in SKELETON])
        ])
    ann_file = root / 'annotations' / f'person_keypoints_{split}.json'
    ann_file.parent.mkdir(parents=True, exist_ok=True)
    ann_file.write_text(json.dumps(content))
    return ann_file


def generate_tiny_coco_keypoints(root: str,
                                 num_train: int = 64,
                                 num_val: int = 16,
                                 seed: int = 0,
                                 image_size: Tuple[int, int] = (128, 128)) -> Dict[str, Path]:
    """Write the dataset under ``root`` (see the module docstring).

    Args:
        root (str): Output folder (created), used as a config's ``data_root``.
        num_train (int): Images (= people) in train2017. Defaults to 64.
        num_val (int): Images (= people) in val2017. Defaults to 16.
        seed (int): Random seed; each split has its own stream, so the validation images do
            not depend on ``num_train``. Defaults to 0.
        image_size (tuple[int, int]): (width, height) of every image. Defaults to (128, 128).

    Returns:
        dict[str, Path]: The annotation file of each split (``'train2017'``, ``'val2017'``).
    """
    if num_train < 1 or num_val < 1:
        raise ValueError(f'num_train and num_val must be positive, got {num_train}, {num_val}')
    if min(image_size) < 32:
        raise ValueError(f'image_size must be at least 32x32, got {image_size}')
    root_path = Path(root)
    counts = dict(train2017=num_train, val2017=num_val)
    return {
        split: _write_split(root_path, split, counts[split],
                            np.random.default_rng([seed, index]), tuple(image_size))
        for index, split in enumerate(_SPLITS)
    }


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root', help='output folder (a data_root such as data/coco_tiny)')
    parser.add_argument('--num-train', type=int, default=64, help='training images')
    parser.add_argument('--num-val', type=int, default=16, help='validation images')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--image-size', type=int, nargs=2, default=(128, 128), metavar=('W', 'H'),
        help='image width and height')
    args = parser.parse_args(argv)
    files = generate_tiny_coco_keypoints(
        args.root, args.num_train, args.num_val, args.seed, tuple(args.image_size))
    for split, ann_file in files.items():
        print(f'{split}: {ann_file}')


if __name__ == '__main__':
    main()
