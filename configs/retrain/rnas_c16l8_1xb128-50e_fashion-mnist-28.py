# Retraining of a genotype on Fashion-MNIST (60,000 train / 10,000 test images, 28x28, one
# grey channel), read by mmpretrain's FashionMNIST from data/fashion_mnist (prepare it with
# python tools/dataset_converters/fashion_mnist.py; it reads the test files when test_mode is
# True, whatever `split` says: both are set).
#   python tools/train.py configs/retrain/rnas_c16l8_1xb128-50e_fashion-mnist-28.py \
#       [--cfg-options genotype=work_dirs/rnas_fashion-mnist/best_genotype.yaml]
# The CIFAR recipe (docs/reference.md §6.1) scaled to the data: C16 L8 (the search's network),
# 28x28, 50 epochs, batch 128, lr 0.05 cosine, random crop with padding 2, flip, cutout 14,
# drop path 0.2 * e / 50; no auxiliary head (its 5x5 / stride 3 pooling needs an 8x8 feature,
# and the feature it reads is 7x7 here).
_base_ = ['mmpretrain::_base_/default_runtime.py']

custom_imports = dict(
    imports=[
        'mmrnas.models', 'mmrnas.models.heads.relativenas_cls_head',
        'mmrnas.engine.hooks.drop_path_schedule_hook'
    ],
    allow_failed_imports=False)

# The architecture: a known name, the best_genotype.yaml of a search or Genotype(...) text.
genotype = 'RelativeNAS'
image_size = 28
base_channels = 16
max_epochs = 50

# ---------------------------------------------------------------- model
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='RelativeNASBackbone',
        genotype=genotype,
        stem='cifar',
        base_channels=base_channels,
        num_cells=8,
        in_channels=1,
        drop_path_rate=0.0),
    head=dict(
        type='mmrnas.RelativeNASClsHead',
        num_classes=10,
        # 4 nodes x 4C after the two channel doublings.
        in_channels=16 * base_channels,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

# ---------------------------------------------------------------- data
# Mean and std of the 60,000 training images (0..255).
data_preprocessor = dict(num_classes=10, mean=[72.9404], std=[90.0212], to_rgb=False)

train_pipeline = [
    dict(type='RandomCrop', crop_size=image_size, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # Filled with the mean (0 after normalisation, as the reference's cutout after Normalize).
    dict(type='Cutout', shape=14, pad_val=73, prob=1.0),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type='FashionMNIST',
        data_root='data/fashion_mnist',
        split='train',
        test_mode=False,
        download=False,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type='FashionMNIST',
        data_root='data/fashion_mnist',
        split='test',
        test_mode=True,
        download=False,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# ---------------------------------------------------------------- schedule
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=3e-4),
    clip_grad=dict(max_norm=5, norm_type=2))
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.0, by_epoch=True, begin=0,
    end=max_epochs)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()

custom_hooks = [dict(type='mmrnas.DropPathScheduleHook', max_rate=0.2)]

# ---------------------------------------------------------------- runtime
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2))
randomness = dict(seed=0, deterministic=False)
