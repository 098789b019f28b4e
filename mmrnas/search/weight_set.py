"""The write-back rule of the shared weight set after a pair (docs/reference.md §4.4)."""
from typing import Dict, Mapping, Optional

import torch

from mmrnas.models.supernets import is_op_key

__all__ = ['pair_write_back']

State = Mapping[str, torch.Tensor]


def pair_write_back(teacher: Optional[State], student: Optional[State]) -> Dict[str, torch.Tensor]:
    """The tensors to copy into the weight set after a pair.

    Both members were trained from the same snapshot; their state dicts use weight-set keys
    and hold only what each candidate uses. Per tensor (BN buffers included):

    ==================================  =================================
    tensor belongs to                   written from
    ==================================  =================================
    an op used only by the teacher      the teacher
    an op used only by the student      the student (its training is kept)
    an op used by both                  the teacher
    an op used by neither               nothing (the weight set keeps it)
    stem, preprocess layers, classifier the teacher
    ==================================  =================================

    A member whose estimate is not finite (NaN/inf loss) is passed as ``None`` and writes
    nothing: with a diverged student only the teacher writes; with both diverged nothing is
    written. Optimizer state is never kept (docs/reference.md §4.4).

    Args:
        teacher (Mapping[str, Tensor], optional): The fast learner's trained state dict.
        student (Mapping[str, Tensor], optional): The slow learner's trained state dict.

    Returns:
        dict[str, Tensor]: Weight-set key -> tensor to copy in.
    """
    update = dict(teacher) if teacher is not None else {}
    if student is not None:
        for key, value in student.items():
            if is_op_key(key) and key not in update:
                update[key] = value
    return update
