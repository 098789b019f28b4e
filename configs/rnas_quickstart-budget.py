# The quickstart under a parameter budget: the best cell whose digits retraining network
# (configs/retrain/rnas_c8l5_1xb64-12e_digits-16.py: C8 L5, CIFAR stem, 16x16, 10 classes) has
# at most 40,000 parameters. Random cells of this space give that network 15,458 (pooling on
# every edge) to 102,370 parameters (sep_conv_5x5 everywhere); the published RelativeNAS cell
# gives it 53,770. Same search as configs/rnas_quickstart.py otherwise.
_base_ = ['./rnas_quickstart.py']

train_cfg = dict(
    # A registered part (mmrnas.registry.TASK_UTILS). Upper bounds on the network you will
    # retrain (a (low, high) pair is accepted too), counted on `cost`. In a pair a feasible
    # cell beats an infeasible one, between two infeasible ones the smaller relative violation
    # wins; the final selection takes feasible cells only.
    budget=dict(
        type='SearchBudget',
        constraints=dict(params=40000),
        cost=dict(
            type='GenotypeCost',
            base_channels=8,
            num_cells=5,
            stem='cifar',
            num_classes=10,
            input_size=16)))
