# RelativeNAS CIFAR-10 retraining (docs/reference.md §6.1): the searched cell, C36 L20, auxiliary
# head (weight 0.4), 600 epochs, batch 128 on one device, SGD 0.025 cosine, cutout 16,
# drop path 0.3 * e / 600, grad clip 5.
_base_ = [
    '../_base_/models/relativenas_c36l20_cifar.py',
    'mmpretrain::_base_/datasets/cifar10_bs16.py',
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(
    imports=[
        'mmrnas.models', 'mmrnas.models.heads.relativenas_cls_head',
        'mmrnas.engine.hooks.drop_path_schedule_hook'
    ],
    allow_failed_imports=False)

# The architecture: a known name (mmrnas.structures.list_genotypes()), the best_genotype.yaml
# of a search, or Genotype(...) text. tools/train.py and tools/test.py copy
# `--cfg-options genotype=...` into model.backbone.genotype.
genotype = 'RelativeNAS'
num_classes = 10

# The reference's mean / std (DARTS CIFAR_MEAN, CIFAR_STD) x 255. Deviation from the
# mmpretrain base, whose std is (51.59, 50.85, 51.26) (= 0.2023 ... x 255).
mean = [125.3069, 122.9504, 113.8656]
std = [62.9932, 62.0887, 66.7048]
# Cutout fill: the mean rounded to uint8, see the train pipeline.
cutout_fill = (125, 123, 114)

# ---------------------------------------------------------------- model
# The C36 L20 CIFAR classifier of configs/_base_/models/relativenas_c36l20_cifar.py.
model = dict(
    backbone=dict(
        genotype=genotype,
        # Set every epoch by DropPathScheduleHook (custom_hooks).
        drop_path_rate=0.0),
    head=dict(num_classes=num_classes))

# ---------------------------------------------------------------- data
data_preprocessor = dict(num_classes=num_classes, mean=mean, std=std, to_rgb=False)

# Cutout: the reference (DARTS `Cutout(16)`) runs it after ToTensor + Normalize and fills 0,
# which is the mean colour; mmpretrain's `Cutout` runs on the uint8 image before the data
# preprocessor normalises it. Filling the mean colour (rounded to uint8, so the normalised
# fill is within 0.005 of 0) before normalisation is the same operation. The reference cuts
# out always (prob=1.0, mmpretrain's default is 0.5). Remaining difference, in the box
# placement: both draw the centre uniformly over the image and clip the box at the bottom /
# right borders, but mmcv.cutout sets y2 = y1 + 16 after clipping y1 at 0, so a centre in the
# top (left) 8 rows (columns) gives a full 16-row box from the border where the reference
# gives a box of (centre + 8) rows: slightly more is cut out near the top/left edges.
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Cutout', shape=16, pad_val=cutout_fill, prob=1.0),
    dict(type='PackInputs'),
]
# Test: normalisation only (done by the data preprocessor).
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=2,
    dataset=dict(data_root='data/cifar10', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    dataset=dict(data_root='data/cifar10', pipeline=test_pipeline))
test_dataloader = val_dataloader

# ---------------------------------------------------------------- schedule
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
    clip_grad=dict(max_norm=5, norm_type=2))
# Cosine to 0 over 600 epochs, stepped once per epoch as the reference: lr(e) =
# 0.025 * (1 + cos(pi * e / 600)) / 2 in the 0-based epoch e (by_epoch=True and no
# convert_to_iter_based, so MMEngine steps it after each epoch, not per iteration).
param_scheduler = dict(
    type='CosineAnnealingLR', T_max=600, eta_min=0.0, by_epoch=True, begin=0, end=600)
train_cfg = dict(by_epoch=True, max_epochs=600, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)

custom_hooks = [dict(type='mmrnas.DropPathScheduleHook', max_rate=0.3)]

# ---------------------------------------------------------------- runtime
# The reference saves every epoch; keeping the last 3 only saves disk.
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
randomness = dict(seed=0, deterministic=False)
