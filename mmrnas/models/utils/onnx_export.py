"""The ONNX export path of mmrnas (``tools/deployment/pytorch2onnx.py``, latency on ONNX
Runtime): ``torch.onnx.export(dynamo=True)`` at :data:`OPSET`, and a CPU ONNX Runtime session."""
from typing import Optional, Sequence

import torch
import torch.nn as nn

__all__ = ['OPSET', 'INPUT_NAME', 'export_onnx', 'onnxruntime_session']

#: ai.onnx opset of the export: the one torch.onnx's torch.export-based exporter translates to
#: natively (no version conversion step).
OPSET = 18
#: Name of the graph's input.
INPUT_NAME = 'input'


def export_onnx(module: nn.Module, example: torch.Tensor,
                output_names: Optional[Sequence[str]] = None,
                dynamic_batch: bool = False) -> bytes:
    """The serialised ONNX model of ``module`` (in eval mode) traced on ``example``.

    Args:
        module: The network.
        example: An input batch (its shape is the graph's, up to a dynamic batch axis).
        output_names: Names of the outputs; None: the exporter's.
        dynamic_batch: Export the batch axis as dynamic.
    """
    program = torch.onnx.export(
        module, (example, ),
        input_names=[INPUT_NAME],
        output_names=list(output_names) if output_names is not None else None,
        opset_version=OPSET,
        dynamo=True,
        dynamic_shapes=({0: torch.export.Dim('batch')}, ) if dynamic_batch else None,
        verbose=False)
    return program.model_proto.SerializeToString()


def onnxruntime_session(model: bytes, threads: Optional[int] = None):
    """A CPU ONNX Runtime session of ``model`` with ``threads`` intra-op threads (None: as
    many as PyTorch uses) and one inter-op thread."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads() if threads is None else threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return ort.InferenceSession(model, options, providers=['CPUExecutionProvider'])
