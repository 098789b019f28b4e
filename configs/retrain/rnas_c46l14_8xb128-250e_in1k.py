# RelativeNAS ImageNet retraining, mobile setting (docs/reference.md §6.2): C46 L14 (5.05 M params),
# 224x224, auxiliary head (weight 0.4), label smoothing 0.1, 250 epochs, 8 GPUs x 128 = 1024,
# SGD 0.5, wd 3e-5, 5 warm-up epochs then linear decay, no drop path, no grad clip.
_base_ = [
    '../_base_/models/relativenas_c46l14.py',
    'mmpretrain::_base_/datasets/imagenet_bs64.py',
    'mmpretrain::_base_/default_runtime.py',
]

custom_imports = dict(
    imports=['mmrnas.models', 'mmrnas.models.heads.relativenas_cls_head'],
    allow_failed_imports=False)

# The architecture: a known name, a best_genotype.yaml or Genotype(...) text
# (`--cfg-options genotype=...` reaches the backbone through tools/train.py).
genotype = 'RelativeNAS'

# ---------------------------------------------------------------- model
# CrossEntropyLabelSmooth of the reference: targets (1 - eps) * onehot + eps / K, the same as
# mmpretrain's LabelSmoothLoss(mode='original') ('classy_vision' would use eps / (1 + eps)).
label_smooth_loss = dict(
    type='LabelSmoothLoss', label_smooth_val=0.1, mode='original', loss_weight=1.0)
# The C46 L14 mobile backbone of configs/_base_/models/relativenas_c46l14.py, with the input of
# the auxiliary head.
model = dict(
    type='ImageClassifier',
    backbone=dict(genotype=genotype, with_aux_feature=True, drop_path_rate=0.0),
    head=dict(
        type='mmrnas.RelativeNASClsHead',
        num_classes=1000,
        in_channels=736,
        aux_in_channels=736,
        aux_head='imagenet',
        aux_weight=0.4,
        # The reference's AvgPool2d(7): needs 224x224 input.
        pool='avg7',
        # The same loss on the main and the auxiliary logits.
        loss=label_smooth_loss,
        topk=(1, 5)))

# ---------------------------------------------------------------- data
# ImageNet mean / std normalisation (the reference does it on the GPU in its prefetcher).
data_preprocessor = dict(num_classes=1000)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    # Reference: torchvision RandomResizedCrop(224) (scale 0.08-1, bilinear).
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # The reference's torchvision ColorJitter, on the RGB image. Not mmpretrain's
    # `ColorJitter`: its hue step (mmcv.adjust_hue, np.uint8(hue_factor * 255)) raises
    # OverflowError for every negative hue factor under numpy 2 (mmcv 2.1.0).
    dict(type='NumpyToPIL', to_rgb=True),
    dict(
        type='torchvision/ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4, hue=0.2),
    dict(type='PILToNumpy', to_bgr=True),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

# mmpretrain's ImageNet layout under data/imagenet: train/<wnid>/*.JPEG and val/<wnid>/*.JPEG,
# or meta/train.txt and meta/val.txt annotation files.
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(data_root='data/imagenet', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(data_root='data/imagenet', pipeline=test_pipeline))
test_dataloader = val_dataloader

# ---------------------------------------------------------------- schedule
# No grad clip (the reference's use_grad_clip is False).
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=3e-5))
# The reference's "linear" schedule, per epoch, e 0-based (docs/reference.md §6.2):
#   e < 5:          lr = 0.5 * (e + 1) / 5            (0.1, 0.2, ..., 0.5)
#   5 <= e < 245:   lr = 0.5 * (245 - e) / 245
#   e >= 245:       lr = 0.5 * (250 - e) / 1225
# MMEngine's LinearLR is chainable (each phase scales the lr the previous one left) and its
# factor goes from start_factor to end_factor over the steps begin .. end - 1, so:
param_scheduler = [
    # e = 0..4: factor 0.2 * (e + 1) of 0.5.
    dict(type='LinearLR', start_factor=0.2, end_factor=1.0, by_epoch=True, begin=0, end=5),
    # e = 5..244: factor (245 - e) / 245 of 0.5.
    dict(
        type='LinearLR',
        start_factor=240 / 245,
        end_factor=1 / 245,
        by_epoch=True,
        begin=5,
        end=245),
    # e = 245..249: from 0.5 / 245 (= 0.5 * 5 / 1225, where the previous phase ended) to
    # 0.5 * 1 / 1225, i.e. factor (250 - e) / 5 of the lr left at e = 244.
    dict(type='LinearLR', start_factor=1.0, end_factor=0.2, by_epoch=True, begin=245, end=250),
]
train_cfg = dict(by_epoch=True, max_epochs=250, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# The reference batch: 8 GPUs x 128.
auto_scale_lr = dict(base_batch_size=1024)

# ---------------------------------------------------------------- runtime
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3))
randomness = dict(seed=0, deterministic=False)
