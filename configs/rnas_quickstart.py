# A real RelativeNAS search on scikit-learn's handwritten digits (1,797 real 8x8 images),
# small enough to finish in about two minutes on 2 CPU cores. Same algorithm as
# configs/rnas_cifar10.py; only the budget is small: 8 individuals, 5 generations, a C=8 L=5
# proxy network at the digits' native 8x8 resolution. Writes
# work_dirs/rnas_quickstart/best_genotype.yaml and its cell drawings.
_base_ = ['./_base_/search_runtime.py']

model = dict(type='RelativeNASSupernet', base_channels=8, num_cells=5, num_classes=10)

train_dataloader = dict(
    # All 1,797 digits at 8x8, decoded once into uint8 tensors (the dataset is built in the
    # mmpretrain scope, as in a retraining config; the pipeline ends with PackInputs).
    dataset=dict(
        type='mmrnas.DigitsDataset', split='all', size=8, pipeline=[dict(type='PackInputs')]),
    # Per-channel mean / std of the images on the 0..1 scale (None: computed from them).
    mean=(0.3053087, 0.3053087, 0.3053087),
    std=(0.3758859, 0.3758859, 0.3758859),
    train_portion=0.5,  # 898 images to train each candidate, 899 to validate it
    batch_size=128,
    # Digits must not be mirrored; crop padding scaled to 8x8 images, no cutout.
    augment=dict(crop_padding=1, flip=False, cutout=None),
    validate_with_train_augment=False)

train_cfg = dict(
    type='RelativeNASSearchLoop',
    max_generations=5,
    population_size=8,
    lr_min=0.001,
    drop_path_rate=0.1,
    # A registered part (mmrnas.registry.TASK_UTILS): the final members trained and validated
    # once more, the best taken. The population moves by the reference's slow-fast update
    # (population_update='slow_fast', the default).
    final_selection=dict(type='ReevaluateSelection'))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-4),
    clip_grad=dict(max_norm=5))

randomness = dict(seed=0)
