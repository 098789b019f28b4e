"""The RelativeNAS / DARTS-family evaluation network as an OpenMMLab backbone."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from mmrnas.registry import MODELS, ROOT_MODELS
from mmrnas.structures import GenotypeSpec, resolve_genotype
from ..cells import GenotypeCell, cell_channel_plan, reduction_cell_indices
from ..utils import build_norm_layer, is_compiling

__all__ = ['RelativeNASBackbone']

NUM_STAGES = 4


@ROOT_MODELS.register_module()
class RelativeNASBackbone(BaseModule):
    """Stem + a stack of genotype cells (docs/reference.md §1.3-1.4), without pool or classifier.

    ``num_cells`` cells, with reduction cells (stride 2, channels doubled) at
    ``num_cells // 3`` and ``2 * num_cells // 3``. Two stems, as in the reference:

    - ``'imagenet'`` (``NetworkImageNet``): ``stem0`` = Conv3x3 s2 (in -> C//2), BN, ReLU,
      Conv3x3 s2 (C//2 -> C), BN; ``stem1`` = ReLU, Conv3x3 s2 (C -> C), BN. Cell inputs are
      ``stem0(x)`` and ``stem1(stem0(x))``; the first cell sees a reduced previous state.
    - ``'cifar'`` (``NetworkCIFAR``): ``stem`` = Conv3x3 (in -> 3C), BN, feeding both inputs
      of the first cell.

    ``in`` is ``in_channels``, the image channels (3 in the reference; 1 for grey images).

    The outputs form a 4-stage pyramid; ``out_indices`` picks from it:

    ====  ===============================================  ===========  =========
    idx   feature                                          stride (IN)  stride (C)
    ====  ===============================================  ===========  =========
    0     stem output (``stem0`` / ``stem``)               4            1
    1     last cell before the first reduction cell        8            1
    2     last cell before the second reduction cell       16           2
    3     last cell                                        32           4
    ====  ===============================================  ===========  =========

    For ``genotype='RelativeNAS'``, ImageNet stem, C=46, 14 cells, the channels are
    46 / 184 / 368 / 736 (the transfer backbone of docs/reference.md §6.3 uses indices 1-3).

    Deviation from the reference: ``stem1`` starts with a ReLU that is *not* in place, so
    output 0 is the BN output of ``stem0``. The reference's in-place ReLU also rectifies the
    first cell's state 0, which that cell rectifies again anyway, so cell outputs are equal.

    Args:
        genotype (Genotype | str | dict): The architecture, anything accepted by
            :func:`mmrnas.structures.resolve_genotype` (a known name, a ``.yaml`` / ``.json``
            path, a dict, DARTS text or a :class:`Genotype`). Defaults to ``'RelativeNAS'``.
        stem (str): ``'imagenet'`` or ``'cifar'``. Defaults to ``'imagenet'``.
        base_channels (int): C, the node channels of the first cells. Defaults to 46.
        num_cells (int): Number of cells L (at least 3). Defaults to 14.
        in_channels (int): Channels of the input images: 3 for colour, 1 for grey images
            (what the search's ``model.in_channels`` was). Defaults to 3.
        out_indices (Sequence[int] | int): Pyramid levels to output, in 0..3 (negative indices
            count from the end); outputs come in level order. Defaults to ``(3, )``.
        frozen_stages (int): Freeze (eval mode, no gradient) stages 0..``frozen_stages``;
            -1 freezes nothing. Stage 0 is ``stem0`` (or ``stem``), stage 1 ``stem1`` and the
            cells before the first reduction cell, stage 2 the cells from there up to the second
            reduction cell (excluded), stage 3 the remaining cells. Defaults to -1.
        norm_eval (bool): Keep all BatchNorm layers in eval mode in training (frozen running
            statistics). Defaults to False.
        norm_cfg (dict): Norm layer config, see :func:`mmrnas.models.utils.build_norm_layer`.
            Defaults to ``dict(type='BN')``.
        drop_path_rate (float): Current drop-path probability of the cell edges. A schedule
            hook may update this public attribute every epoch; under ``torch.compile`` the
            cells read it from a tensor, so a new rate does not compile a new graph. Defaults
            to 0.
        with_cp (bool): Checkpoint every cell in training (less memory, more compute).
            Defaults to False.
        with_aux_feature (bool): Prepend to the outputs the output of cell
            ``2 * num_cells // 3`` (the second reduction cell), the input of the reference's
            auxiliary head, in training and in eval. Defaults to False.
        init_cfg (dict | list[dict], optional): Initialisation config, e.g.
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``. None keeps the
            PyTorch default initialisation, as the reference does. Defaults to None.
    """

    def __init__(self,
                 genotype: GenotypeSpec = 'RelativeNAS',
                 stem: str = 'imagenet',
                 base_channels: int = 46,
                 num_cells: int = 14,
                 in_channels: int = 3,
                 out_indices: Union[Sequence[int], int] = (3, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 norm_cfg: dict = dict(type='BN'),
                 drop_path_rate: float = 0.,
                 with_cp: bool = False,
                 with_aux_feature: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = None):
        super().__init__(init_cfg=init_cfg)
        if stem not in ('imagenet', 'cifar'):
            raise ValueError(f"stem must be 'imagenet' or 'cifar', got {stem!r}")
        if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'in_channels must be a positive int (the image channels: 3 for '
                             f'colour, 1 for grey images), got {in_channels!r}')
        if not -1 <= frozen_stages < NUM_STAGES:
            raise ValueError(
                f'frozen_stages must be in [-1, {NUM_STAGES - 1}], got {frozen_stages}')
        self.genotype = resolve_genotype(genotype)
        self.stem_type = stem
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.num_cells = num_cells
        self.out_indices = self._check_out_indices(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        # The rate as a tensor too, for compiled graphs (not saved in checkpoints).
        self.register_buffer('_drop_path_prob', torch.zeros(()), persistent=False)
        self.drop_path_rate = drop_path_rate
        self.with_cp = with_cp
        self.with_aux_feature = with_aux_feature
        self.reduction_indices = reduction_cell_indices(num_cells)

        C = base_channels
        if stem == 'cifar':
            stem_channels = 3 * C
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False),
                build_norm_layer(norm_cfg, stem_channels))
            # Both inputs of the first cell are the stem output.
            stem_stride, stride, reduction_prev = 1, 1, False
        else:
            stem_channels = C
            self.stem0 = nn.Sequential(
                nn.Conv2d(in_channels, C // 2, 3, stride=2, padding=1, bias=False),
                build_norm_layer(norm_cfg, C // 2),
                nn.ReLU(inplace=True),
                nn.Conv2d(C // 2, C, 3, stride=2, padding=1, bias=False),
                build_norm_layer(norm_cfg, C))
            self.stem1 = nn.Sequential(
                nn.ReLU(inplace=False),
                nn.Conv2d(C, C, 3, stride=2, padding=1, bias=False),
                build_norm_layer(norm_cfg, C))
            # The first cell reads stem0 (stride 4) and stem1 (stride 8).
            stem_stride, stride, reduction_prev = 4, 8, True

        multipliers = (len(self.genotype.normal_concat), len(self.genotype.reduce_concat))
        self.cells = nn.ModuleList()
        cell_strides = []
        for spec in cell_channel_plan(C, num_cells, stem_channels, multipliers, reduction_prev):
            self.cells.append(GenotypeCell(self.genotype, *spec, norm_cfg=norm_cfg))
            stride *= 2 if spec.reduction else 1
            cell_strides.append(stride)

        # Index of the cell whose output ends each of the stages 1..3.
        self.stage_ends = (self.reduction_indices[0] - 1, self.reduction_indices[1] - 1,
                           num_cells - 1)
        self.stage_channels: Tuple[int, ...] = (stem_channels, ) + tuple(
            self.cells[i].out_channels for i in self.stage_ends)
        self.stage_strides: Tuple[int, ...] = (stem_stride, ) + tuple(
            cell_strides[i] for i in self.stage_ends)
        self.out_channels = tuple(self.stage_channels[i] for i in self.out_indices)
        self.out_strides = tuple(self.stage_strides[i] for i in self.out_indices)
        self.aux_channels = self.cells[self.reduction_indices[1]].out_channels

        self._freeze_stages()

    @staticmethod
    def _check_out_indices(out_indices: Union[Sequence[int], int]) -> Tuple[int, ...]:
        """Validate ``out_indices``; return them non-negative, unique and in level order."""
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        indices = tuple(out_indices)
        if not indices:
            raise ValueError('out_indices must not be empty')
        for index in indices:
            if not isinstance(index, int) or not -NUM_STAGES <= index < NUM_STAGES:
                raise ValueError(f'out_indices must be in [0, {NUM_STAGES - 1}] (or '
                                 f'[-{NUM_STAGES}, -1] from the end), got {out_indices}')
        return tuple(sorted({index % NUM_STAGES for index in indices}))

    def _stage_modules(self, stage: int) -> List[nn.Module]:
        """The modules of one stage (see ``frozen_stages``)."""
        if stage == 0:
            return [self.stem if self.stem_type == 'cifar' else self.stem0]
        bounds = (0, ) + self.reduction_indices + (self.num_cells, )
        modules = [self.stem1] if stage == 1 and self.stem_type == 'imagenet' else []
        return modules + list(self.cells[bounds[stage - 1]:bounds[stage]])

    def _freeze_stages(self) -> None:
        for stage in range(self.frozen_stages + 1):
            for module in self._stage_modules(stage):
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def train(self, mode: bool = True) -> 'RelativeNASBackbone':
        """Set the train mode, then re-freeze the frozen stages and, with ``norm_eval``, put
        every BatchNorm layer in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    @property
    def drop_path_rate(self) -> float:
        """Drop-path probability of the cell edges in training."""
        return self._drop_path_rate

    @drop_path_rate.setter
    def drop_path_rate(self, rate: float) -> None:
        self._drop_path_rate = float(rate)
        self._drop_path_prob.fill_(self._drop_path_rate)

    def _run_cell(self, cell: GenotypeCell, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        drop = self._drop_path_prob if is_compiling() else self.drop_path_rate
        if self.with_cp and self.training:
            return cp.checkpoint(cell, s0, s1, drop, use_reentrant=False)
        return cell(s0, s1, drop)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Return the ``out_indices`` features, preceded by the auxiliary feature when
        ``with_aux_feature`` is set."""
        if self.stem_type == 'cifar':
            s0 = s1 = self.stem(x)
        else:
            s0 = self.stem0(x)
            s1 = self.stem1(s0)
        stages: Dict[int, torch.Tensor] = {0: s0}
        aux_feature = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, self._run_cell(cell, s0, s1)
            if i in self.stage_ends:
                stages[self.stage_ends.index(i) + 1] = s1
            if i == self.reduction_indices[1]:
                aux_feature = s1
        outs = tuple(stages[i] for i in self.out_indices)
        return (aux_feature, ) + outs if self.with_aux_feature else outs


MODELS.register_module(module=RelativeNASBackbone)
