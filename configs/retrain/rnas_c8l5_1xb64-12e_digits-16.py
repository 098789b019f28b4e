# Quick retraining of a genotype on scikit-learn's handwritten digits (1500 train / 297 test,
# 16x16, 3 channels): the CIFAR recipe scaled down to run in a few minutes on 2 CPU cores.
#   python tools/train.py configs/retrain/rnas_c8l5_1xb64-12e_digits-16.py \
#       [--cfg-options genotype=work_dirs/rnas_quickstart/best_genotype.yaml]
# Deviations from the CIFAR retraining (docs/reference.md §6.1), all for size and speed: C8 L5,
# 16x16 input, 12 epochs, lr 0.05, no auxiliary head (at 16x16 the auxiliary feature is 4x4,
# too small for the reference's 5x5 / stride 3 pooling, which needs 8x8), no cutout and no flip
# (digits are not mirror-symmetric), drop path 0.1 * e / 12.
_base_ = ['mmpretrain::_base_/default_runtime.py']

custom_imports = dict(
    imports=[
        'mmrnas.models', 'mmrnas.models.heads.relativenas_cls_head',
        'mmrnas.engine.hooks.drop_path_schedule_hook', 'mmrnas.datasets.digits_cls_dataset'
    ],
    allow_failed_imports=False)

# The architecture: a known name, the best_genotype.yaml of a search or Genotype(...) text.
genotype = 'RelativeNAS'
image_size = 16
base_channels = 8

# ---------------------------------------------------------------- model
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='RelativeNASBackbone',
        genotype=genotype,
        stem='cifar',
        base_channels=base_channels,
        num_cells=5,
        drop_path_rate=0.0),
    head=dict(
        type='mmrnas.RelativeNASClsHead',
        num_classes=10,
        # 4 nodes x 4C after the two channel doublings.
        in_channels=16 * base_channels,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, )))

# ---------------------------------------------------------------- data
# configs/rnas_quickstart.py's train_dataloader.mean / std x 255 (the three channels are equal).
data_preprocessor = dict(
    num_classes=10, mean=[77.8537] * 3, std=[95.8509] * 3, to_rgb=False)

train_pipeline = [
    dict(type='RandomCrop', crop_size=image_size, padding=2),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type='mmrnas.DigitsDataset', split='train', size=image_size, pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True))
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        type='mmrnas.DigitsDataset', split='test', size=image_size, pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False))
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# ---------------------------------------------------------------- schedule
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=3e-4),
    clip_grad=dict(max_norm=5, norm_type=2))
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=12, eta_min=0.0, by_epoch=True, begin=0, end=12)
train_cfg = dict(by_epoch=True, max_epochs=12, val_interval=6)
val_cfg = dict()
test_cfg = dict()

custom_hooks = [dict(type='mmrnas.DropPathScheduleHook', max_rate=0.1)]

# ---------------------------------------------------------------- runtime
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=12, max_keep_ckpts=1))
randomness = dict(seed=0, deterministic=False)
