# The paper's search (configs/rnas_cifar10.py) for the best cell under 3 M parameters in the
# CIFAR-10 retraining network (configs/retrain/rnas_c36l20_1xb128-600e_cifar10.py: C36 L20,
# auxiliary head not counted, as the model zoo counts). Cells of this space give that network
# 1.37 M (pooling on every edge) to 5.14 M parameters (sep_conv_5x5 everywhere); the published
# RelativeNAS cell gives it 3.93 M.
_base_ = ['./rnas_cifar10.py']

train_cfg = dict(
    budget=dict(
        type='SearchBudget',
        constraints=dict(params=3.0e6),
        cost=dict(
            type='GenotypeCost',
            base_channels=36,
            num_cells=20,
            stem='cifar',
            num_classes=10,
            input_size=32)))
