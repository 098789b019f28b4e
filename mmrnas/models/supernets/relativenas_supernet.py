"""The RelativeNAS weight set ("operation collection"): one supernet with every op."""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel

from mmrnas.registry import MODELS
from mmrnas.structures import SEARCH_PRIMITIVES, Genotype
from ..cells import cell_channel_plan, reduction_cell_indices
from ..utils import build_norm_layer, copy_module
from .candidate_network import CandidateCell, CandidateNetwork
from .supernet_cell import SupernetCell

__all__ = ['RelativeNASSupernet']


@MODELS.register_module()
class RelativeNASSupernet(BaseModel):
    """The shared weight set of a RelativeNAS search (docs/reference.md §4.1).

    A CIFAR-style network (stem Conv3x3 -> ``stem_multiplier * C`` + BN, ``num_cells`` cells
    with reductions at ``num_cells // 3`` and ``2 * num_cells // 3``, global average pooling,
    linear classifier) whose cells hold every primitive on every edge. With C=16, L=8 and 10
    classes it has the reference's 4,922 state tensors.

    Unlike the reference, which builds a full supernet per candidate and loads the whole weight
    set into it, :meth:`extract` copies only what one candidate uses (stem, preprocess layers,
    its active ops, classifier); :meth:`write_back` copies trained tensors back.

    Args:
        base_channels (int): C of the first cells. Defaults to 16.
        num_cells (int): Number of cells L. Defaults to 8.
        num_classes (int): Classifier outputs. Defaults to 10.
        in_channels (int): Image channels. Defaults to 3.
        stem_multiplier (int): Stem width as a multiple of C. Defaults to 3.
        num_nodes (int): Intermediate nodes per cell. Defaults to 4.
        primitives (Sequence[str]): Candidate ops in encoding order. Defaults to the 7
            RelativeNAS primitives.
        norm_cfg (dict): Norm layer config (affine). Defaults to ``dict(type='BN')``.
        data_preprocessor (dict, optional): MMEngine data preprocessor config.
        init_cfg (dict, optional): Initialisation config; None keeps PyTorch's defaults.
    """

    def __init__(self,
                 base_channels: int = 16,
                 num_cells: int = 8,
                 num_classes: int = 10,
                 in_channels: int = 3,
                 stem_multiplier: int = 3,
                 num_nodes: int = 4,
                 primitives: Sequence[str] = SEARCH_PRIMITIVES,
                 norm_cfg: dict = dict(type='BN'),
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.num_cells = num_cells
        self.reduction_indices = reduction_cell_indices(num_cells)
        stem_channels = stem_multiplier * base_channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False),
            build_norm_layer(norm_cfg, stem_channels))
        self.cells = nn.ModuleList(
            SupernetCell(*spec, num_nodes, primitives, norm_cfg)
            for spec in cell_channel_plan(base_channels, num_cells, stem_channels,
                                          (num_nodes, num_nodes)))
        self.classifier = nn.Linear(self.cells[-1].out_channels, num_classes)

    def cell_edges(self, genotype: Genotype, index: int):
        """The genotype edges that cell ``index`` uses (reduce or normal half)."""
        return genotype.reduce if index in self.reduction_indices else genotype.normal

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[torch.Tensor] = None,
                mode: str = 'tensor',
                genotype: Optional[Genotype] = None,
                drop_path_rate: float = 0.) -> Union[torch.Tensor, Dict[str, torch.Tensor]]:
        """Run the weight set in place as the network of ``genotype``.

        Args:
            inputs (Tensor): Images, N x C x H x W.
            data_samples (Tensor, optional): Class labels, needed for ``mode='loss'``.
            mode (str): ``'tensor'`` (logits), ``'predict'`` (class probabilities) or
                ``'loss'`` (``dict(loss=cross-entropy)``).
            genotype (Genotype): The architecture to run; required.
            drop_path_rate (float): Drop-path probability in training. Defaults to 0.
        """
        if genotype is None:
            raise ValueError('RelativeNASSupernet.forward needs the genotype to run')
        s0 = s1 = self.stem(inputs)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.cell_edges(genotype, i), drop_path_rate)
        logits = self.classifier(s1.mean(dim=(2, 3)))
        if mode == 'tensor':
            return logits
        if mode == 'predict':
            return logits.softmax(dim=1)
        if mode == 'loss':
            if data_samples is None:
                raise ValueError("mode='loss' needs the labels as data_samples")
            return dict(loss=F.cross_entropy(logits, data_samples))
        raise ValueError(f"mode must be 'tensor', 'predict' or 'loss', got {mode!r}")

    def extract(self, genotype: Genotype, drop_path_rate: float = 0.) -> CandidateNetwork:
        """Copy the modules ``genotype`` uses into a new :class:`CandidateNetwork`.

        The copy is independent of the weight set (training it changes nothing here); its
        state-dict keys are the weight set's keys of the copied modules.
        """
        cells = []
        for i, cell in enumerate(self.cells):
            edges = self.cell_edges(genotype, i)
            indices = cell.edge_op_indices(edges)
            ops = {k: copy_module(cell.ops[k]) for k in set(indices)}
            cells.append(
                CandidateCell(
                    copy_module(cell.preprocess0), copy_module(cell.preprocess1), ops, indices,
                    [index for _, index in edges], cell.concat))
        return CandidateNetwork(genotype, copy_module(self.stem), cells,
                                copy_module(self.classifier), drop_path_rate)

    @torch.no_grad()
    def write_back(self, tensors: Dict[str, torch.Tensor]) -> None:
        """Copy ``tensors`` (weight-set keys -> values, e.g. from a candidate's state dict)
        into the weight set; values are copied, never aliased. Keys are resolved through the
        module tree (not through a full state dict of the weight set)."""
        targets = {key: self._state_tensor(key) for key in tensors}
        unknown = sorted(key for key, target in targets.items() if target is None)
        if unknown:
            raise KeyError(f'write_back got keys that are not in the weight set: {unknown[:5]}')
        for key, value in tensors.items():
            targets[key].copy_(value)

    def _state_tensor(self, key: str) -> Optional[torch.Tensor]:
        """The parameter or persistent buffer whose state-dict key is ``key``, else None."""
        path, _, name = key.rpartition('.')
        try:
            module = self.get_submodule(path)
        except AttributeError:
            return None
        if name in module._non_persistent_buffers_set:
            return None
        return module._parameters.get(name, module._buffers.get(name))
