# The quickstart as a multi-objective search: estimated validation loss against the parameters
# of the digits retraining network (C8 L5, CIFAR stem, 16x16, 10 classes). A pair's teacher is
# the member that Pareto-dominates, else the one that leaves the larger hypervolume of the front
# the run reports (each genotype's latest estimate; feasible only under constraints); the run
# writes pareto_front.yaml / pareto_front.png and the front's hypervolume
# (final_selection.json).
_base_ = ['./rnas_quickstart.py']

train_cfg = dict(
    budget=dict(
        type='SearchBudget',
        objectives=('val_loss', 'params'),
        cost=dict(
            type='GenotypeCost',
            base_channels=8,
            num_cells=5,
            stem='cifar',
            num_classes=10,
            input_size=16)))
