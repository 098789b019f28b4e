# The RelativeNAS search protocol of the paper (docs/reference.md §2-§5): CIFAR-10, population 20
# (10 pairs per generation), 50 generations, a C=16 L=8 proxy network whose weight set every
# candidate inherits from; each candidate trains one epoch on 25k images (batch 256, SGD
# momentum 0.9, wd 3e-4, grad clip 5, lr cosine 0.1 -> 0.001 over generations, drop path
# 0.3 g/50, cutout 16) and is validated on the other 25k.
_base_ = ['./_base_/search_runtime.py']

model = dict(type='RelativeNASSupernet', base_channels=16, num_cells=8, num_classes=10)

train_dataloader = dict(
    # The 50k training images of the standard python batches, in file order (mmpretrain's
    # CIFAR10; it checks the release's MD5 sums): data/cifar10/cifar-10-batches-py/.
    dataset=dict(
        type='CIFAR10',
        data_root='data/cifar10',
        split='train',
        download=False,
        pipeline=[dict(type='PackInputs')]),
    # The reference's CIFAR-10 normalisation, 0..1 scale (docs/reference.md §4.2).
    mean=(0.49139968, 0.48215827, 0.44653124),
    std=(0.24703233, 0.24348505, 0.26158768),
    train_portion=0.5,  # seeded split, saved in every checkpoint
    batch_size=256,
    val_batch_size=256,
    augment=dict(crop_padding=4, flip=True, cutout=16),  # cutout after normalisation
    # The reference validates with the training augmentation (cutout included), because its
    # validation loader shares the training dataset object. Kept here for fidelity; the
    # library default is False.
    validate_with_train_augment=True)

train_cfg = dict(
    type='RelativeNASSearchLoop',
    max_generations=50,
    population_size=20,
    lr_min=0.001,
    reference_lr_quirk=False,  # closed-form cosine; True reproduces the reference's get_lr()
    drop_path_rate=0.3,
    teacher_criterion='loss',
    phi=0.0,  # no population-mean (CSO) term, as in the reference code
    # A registered part (mmrnas.registry.TASK_UTILS), not in the reference (reference.md §5).
    final_selection=dict(type='ReevaluateSelection'))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-4),
    clip_grad=dict(max_norm=5, norm_type=2))
