"""The classification network a genotype is retrained as, without its auxiliary head: what
budgets count (params, mult-adds, latency)."""
import torch
import torch.nn as nn

from mmrnas.structures import Genotype

__all__ = ['GenotypeClassifier']


class GenotypeClassifier(nn.Module):
    """:class:`~mmrnas.models.RelativeNASBackbone`, global average pooling and a linear
    classifier: the network of a classification retraining without its auxiliary head (which
    the model zoo does not count and inference does not run).

    Args:
        genotype (Genotype): The architecture.
        base_channels (int): C.
        num_cells (int): L.
        stem (str): ``'cifar'`` or ``'imagenet'``.
        num_classes (int): Classes.
        in_channels (int): Image channels.
    """

    def __init__(self, genotype: Genotype, base_channels: int, num_cells: int, stem: str,
                 num_classes: int, in_channels: int):
        super().__init__()
        from mmrnas.models.backbones.relativenas import RelativeNASBackbone
        self.backbone = RelativeNASBackbone(genotype, stem=stem, base_channels=base_channels,
                                            num_cells=num_cells, in_channels=in_channels)
        self.classifier = nn.Linear(self.backbone.out_channels[-1], num_classes)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        feature = self.backbone(inputs)[-1]
        return self.classifier(feature.mean(dim=(2, 3)))
