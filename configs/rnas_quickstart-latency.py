# The quickstart under a latency budget measured on this machine: the best cell whose digits
# retraining network (C8 L5, CIFAR stem, 16x16, 10 classes; batch 1, PyTorch on the CPU, one
# thread) runs in at most 7 ms. Before generation 1 the search times every part a genotype can
# use (a latency table, cached by fingerprint under ~/.cache/mmrnas/latency; seconds) and from
# then on predicts each cell's latency from it. On a 2-core AMD EPYC the table predicts 2.0 to
# 15.2 ms for this space and the published RelativeNAS cell 10.0 ms (measured 10.2): a limit
# outside your machine's range is refused with the range, and
# python tools/analysis_tools/latency.py configs/rnas_quickstart-latency.py --genotype G
# prints predicted and measured latency of any cell. Same search as configs/rnas_quickstart.py.
_base_ = ['./rnas_quickstart.py']

train_cfg = dict(
    budget=dict(
        type='SearchBudget',
        constraints=dict(latency_ms=7.0),
        cost=dict(
            type='GenotypeCost',
            base_channels=8,
            num_cells=5,
            stem='cifar',
            num_classes=10,
            input_size=16,
            # backend 'torch' or 'onnxruntime'; device 'cpu' or 'cuda'; threads None: as many
            # as PyTorch uses (pinned and recorded in the table's fingerprint)
            latency=dict(backend='torch', device='cpu', threads=1, batch_size=1))))
