"""Print a RelativeNASBackbone's feature pyramid, parameters and mult-adds.

Usage: python tools/analysis_tools/backbone_summary.py [GENOTYPE] [--stem imagenet|cifar]
       [--base-channels C] [--num-cells L] [--num-classes K] [--shape H] [--in-channels N]

GENOTYPE is a known name (default ``RelativeNAS``), a .yaml/.json genotype file or DARTS
``Genotype(...)`` text. The parameter count and mult-adds of the matching reference network
(backbone + global pool + linear classifier, auxiliary head excluded) use the reference's
counting rules (docs/reference.md §8), so that ``RelativeNAS`` with the defaults prints the numbers
of the published ImageNet-mobile model.
"""
import argparse
import sys

import torch
import torch.nn as nn

from mmrnas.models import RelativeNASBackbone
from mmrnas.models.utils.complexity import count_mult_adds, count_parameters

DEFAULT_SHAPE = dict(imagenet=224, cifar=32)


class ReferenceClassifier(nn.Module):
    """Backbone + global average pool + linear: the reference NetworkImageNet / NetworkCIFAR
    without its auxiliary head."""

    def __init__(self, backbone: RelativeNASBackbone, num_classes: int):
        super().__init__()
        self.backbone = backbone
        self.classifier = nn.Linear(backbone.stage_channels[-1], num_classes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        features = self.backbone(inputs)[-1]
        return self.classifier(features.mean(dim=(2, 3)))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Summarise a RelativeNASBackbone.')
    parser.add_argument('genotype', nargs='?', default='RelativeNAS',
                        help='known name, .yaml/.json file or Genotype(...) text')
    parser.add_argument('--stem', choices=('imagenet', 'cifar'), default='imagenet')
    parser.add_argument('--base-channels', type=int, default=None,
                        help='C; default 46 (imagenet) or 36 (cifar)')
    parser.add_argument('--num-cells', type=int, default=None,
                        help='L; default 14 (imagenet) or 20 (cifar)')
    parser.add_argument('--num-classes', type=int, default=None,
                        help='classifier size for the reference count; default 1000 or 10')
    parser.add_argument('--shape', type=int, default=None,
                        help='square input size; default 224 (imagenet) or 32 (cifar)')
    parser.add_argument('--in-channels', type=int, default=3,
                        help='image channels: 3 (default) for colour, 1 for grey images')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    imagenet = args.stem == 'imagenet'
    channels = args.base_channels or (46 if imagenet else 36)
    cells = args.num_cells or (14 if imagenet else 20)
    classes = args.num_classes or (1000 if imagenet else 10)
    size = args.shape or DEFAULT_SHAPE[args.stem]
    try:
        backbone = RelativeNASBackbone(
            genotype=args.genotype, stem=args.stem, base_channels=channels, num_cells=cells,
            in_channels=args.in_channels, out_indices=(0, 1, 2, 3))
    except ValueError as error:
        print(f'backbone_summary: error: {error}', file=sys.stderr)
        return 2
    backbone.eval()
    with torch.no_grad():
        outputs = backbone(torch.zeros(1, args.in_channels, size, size))

    print(f'RelativeNASBackbone(genotype={args.genotype!r}, stem={args.stem!r}, '
          f'base_channels={channels}, num_cells={cells}), input '
          f'1x{args.in_channels}x{size}x{size}')
    print(f'{"out index":>9}  {"stride":>6}  {"channels":>8}  output shape')
    for index, (stride, width, out) in enumerate(
            zip(backbone.stage_strides, backbone.stage_channels, outputs)):
        print(f'{index:>9}  {stride:>6}  {width:>8}  {"x".join(map(str, out.shape))}')
    network = ReferenceClassifier(backbone, classes)
    print(f'params, backbone: {count_parameters(backbone):,}')
    print(f'params, backbone + {classes}-class classifier (reference convention, auxiliary '
          f'head excluded): {count_parameters(network):,}')
    mult_adds = count_mult_adds(network, (args.in_channels, size, size))
    print(f'mult-adds [counter: RelativeNAS reference rule, conv + linear]: '
          f'{mult_adds / 1e6:.2f} M ({mult_adds:,})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
