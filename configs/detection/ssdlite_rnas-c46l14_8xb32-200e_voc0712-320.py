# SSDLite with the RelativeNAS C46 L14 ImageNet backbone on PASCAL VOC, 320x320
# (docs/reference.md §6.3; TL SSDLite: train.py, vision/ssd/ssd_mobile.py,
# ssd/config/ssdlite_config.py, ssd/data_preprocessing.py, transforms/transforms.py). Reported:
# 73.1 mAP (VOC07 test, 11-point), 5.07 M params (CHK 5.0698 M; this model: 5,069,824),
# 1203 M mult-adds.
#
# Deviations from the reference, each explained where it is set below:
#   - test-time candidate selection and the cap on detections (mmdet's head, not per class);
#   - init of the biases of the extra layers and heads (0 instead of PyTorch's uniform);
#   - SyncBN (only matters with several GPUs; see the batch-size note);
#   - images smaller than 32 px or without any non-difficult object are skipped in training.
# Kept on purpose: the random crop without IoU bounds (the reference's effective behaviour),
# the clamped prior sizes, RGB input, no clipping of the decoded boxes.
_base_ = [
    '../_base_/models/relativenas_c46l14.py',
    'mmdet::_base_/datasets/voc0712.py',
    'mmdet::_base_/default_runtime.py',
]

custom_imports = dict(
    imports=['mmrnas.models', 'mmrnas.downstream.mmdet_ssdlite'], allow_failed_imports=False)

# The architecture: a known name, a best_genotype.yaml or Genotype(...) text.
genotype = 'RelativeNAS'
# ImageNet weights of the backbone: a weights-only file with `backbone.*` keys (torch >= 2.6
# loads init_cfg checkpoints with weights_only=True). Either the official weights converted with
#   python tools/model_converters/relativenas_to_mmrnas.py --backbone-only \
#       PairNAS_CIFAR10_ImageNet_weight.pth checkpoints/rnas_c46l14_in1k_backbone.pth
# or the `state_dict` of our own configs/retrain/rnas_c46l14_8xb128-250e_in1k.py run, saved
# alone (a runner checkpoint also pickles the message hub and is refused by weights_only).
# `--cfg-options model.backbone.init_cfg=None` trains from scratch.
pretrained = 'checkpoints/rnas_c46l14_in1k_backbone.pth'
# 8 GPUs: BN statistics over all GPUs (the reference trains on one GPU, plain BN). mmengine
# turns SyncBN into BN when not distributed, so one-GPU and CPU runs need no change.
norm_cfg = dict(type='SyncBN')
input_size = 320

# ---------------------------------------------------------------- model
# The reference reads images in RGB (cv2 + BGR2RGB) and normalises with mean 127, std 128
# (ssdlite_config.py), so: RGB order, as the ImageNet backbone was trained.
data_preprocessor = dict(
    type='DetDataPreprocessor',
    mean=[127, 127, 127],
    std=[128, 128, 128],
    bgr_to_rgb=True,
    pad_size_divisor=1)
# The reference never initialises its extra layers and heads (train.py does not call
# init_from_base_net), so they keep PyTorch's default init: kaiming_uniform(a=sqrt(5)) on the
# conv weights, as here. Deviation: mmengine's KaimingInit sets the conv biases to 0, PyTorch
# draws them from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
torch_default_init = dict(
    type='Kaiming',
    layer='Conv2d',
    a=2.23606797749979,  # sqrt(5)
    mode='fan_in',
    nonlinearity='leaky_relu',
    distribution='uniform')
model = dict(
    # mmdet's SingleStageDetector plus a build-time check that the backbone's pyramid (here
    # out_indices=(2, 3): stride 16 / 368 ch, stride 32 / 736 ch) fits the neck.
    type='mmrnas.PyramidCheckedSingleStageDetector',
    data_preprocessor=data_preprocessor,
    # The C46 L14 mobile backbone of configs/_base_/models/relativenas_c46l14.py.
    backbone=dict(
        genotype=genotype,
        out_indices=(2, 3),
        norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    # The reference's extras: four stride-2 InvertedResidual blocks on the stride-32 feature,
    # 736 -> 512 -> 256 -> 256 -> 64 with expand ratios 0.2 / 0.25 / 0.5 / 0.25 (hidden
    # 147 / 128 / 128 / 64), ReLU6: maps 5x5, 3x3, 2x2, 1x1 at 320. mmdet's SSDNeck has no
    # expand ratios, hence SSDLiteNeck (mmrnas.downstream.mmdet_ssdlite, on mmdet's
    # InvertedResidual).
    neck=dict(
        type='mmrnas.SSDLiteNeck',
        in_channels=(368, 736),
        out_channels=(512, 256, 256, 64),
        expand_ratios=(0.2, 0.25, 0.5, 0.25),
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU6'),
        init_cfg=torch_default_init),
    # mmdet's SSDHead with use_depthwise (depthwise 3x3 + BN + ReLU6 + 1x1), except, as in the
    # reference, a plain 1x1 conv on the last (1x1) level and a bias on the depthwise convs.
    bbox_head=dict(
        type='mmrnas.SSDLiteHead',
        num_classes=20,  # 21 with the background of the reference
        in_channels=(368, 736, 512, 256, 256, 64),
        use_depthwise=True,
        plain_levels=(5, ),
        depthwise_bias=True,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU6'),
        # Priors of ssdlite_config.py: (map, shrinkage, min, max) = (20, 16, 60, 105),
        # (10, 32, 105, 150), (5, 64, 150, 195), (3, 100, 195, 240), (2, 150, 240, 285),
        # (1, 300, 285, 330); centres at (i + 0.5) * shrinkage; per location min, sqrt(min*max)
        # and min with aspect ratios 2 and 3 (both orientations): 6 priors. Sizes clamped to
        # the input size, as generate_ssd_priors(clamp=True) does.
        anchor_generator=dict(
            type='mmrnas.SSDLiteAnchorGenerator',
            scale_major=False,
            strides=[16, 32, 64, 100, 150, 300],
            ratios=[[2, 3], [2, 3], [2, 3], [2, 3], [2, 3], [2, 3]],
            min_sizes=[60, 105, 150, 195, 240, 285],
            max_sizes=[105, 150, 195, 240, 285, 330],
            max_anchor_size=input_size),
        # Centre variance 0.1, size variance 0.2. The reference does not clip decoded boxes.
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0., 0., 0., 0.],
            target_stds=[0.1, 0.1, 0.2, 0.2],
            clip_border=False),
        init_cfg=torch_default_init),
    # MultiboxLoss: IoU 0.5 matching (every ground truth also gets its best prior), hard
    # negatives 3:1 by background loss, smooth L1 + CE summed and divided by the positives.
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.5,
            min_pos_iou=0.,
            ignore_iof_thr=-1,
            gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'),
        smoothl1_beta=1.,
        allowed_border=-1,
        pos_weight=-1,
        neg_pos_ratio=3,
        debug=False),
    # The reference: per class, scores > 0.01, the 200 best candidates, hard NMS at IoU 0.45,
    # no cap on the detections. Deviation: mmdet keeps the nms_pre best (prior, class) scores
    # per level and caps the image at max_per_img detections after class-wise NMS.
    test_cfg=dict(
        nms_pre=1000,
        nms=dict(type='nms', iou_threshold=0.45),
        min_bbox_size=0,
        score_thr=0.01,
        max_per_img=200))

# ---------------------------------------------------------------- data
# TrainAugmentation of the reference, in its order: photometric distortion (brightness 32,
# contrast 0.5-1.5, saturation 0.5-1.5, hue 18, channel swap), expand (p 0.5, ratio 1-4, filled
# with the mean), random sample crop, mirror, resize to 320x320 (not keeping the ratio).
# The crop: the reference (ssd.pytorch's RandomSampleCrop) picks one of {original, min IoU 0.1,
# 0.3, 0.7, 0.9, any}, but its test `overlap.min() < min_iou and max_iou < overlap.max()` never
# holds (max_iou = inf), so no IoU bound is ever enforced: 1/6 original, 5/6 an unconstrained
# patch (0.3-1 of each side, h/w in 0.5-2, keeping the boxes whose centre it contains). mmdet's
# MinIoURandomCrop enforces its bounds, so they are all 0 here, which reproduces that
# behaviour; min_ious=(0.1, 0.3, 0.7, 0.9) would give the crop the reference intended.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PhotoMetricDistortion',
        brightness_delta=32,
        contrast_range=(0.5, 1.5),
        saturation_range=(0.5, 1.5),
        hue_delta=18),
    dict(
        type='Expand',
        mean=data_preprocessor['mean'],
        to_rgb=data_preprocessor['bgr_to_rgb'],
        ratio_range=(1, 4),
        prob=0.5),
    dict(type='MinIoURandomCrop', min_ious=(0., 0., 0., 0.), min_crop_size=0.3),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    # After Resize, so that the ground-truth boxes keep the original scale.
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

# VOC2007 trainval + VOC2012 trainval, once per epoch (no RepeatDataset), shuffled, no aspect
# ratio grouping (every image is resized to 320x320). Difficult objects are ignored in training
# (mmdet's ignore flags; the reference drops them). Deviation: images without any
# non-difficult object, or smaller than 32 px, are skipped (mmdet's filter_cfg; in VOC
# trainval only images whose objects are all difficult).
dataset_type = 'VOCDataset'
data_root = 'data/VOCdevkit/'
train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=None,
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        # VOCDataset writes its own dataset_type into the metainfo.
        ignore_keys=['dataset_type'],
        datasets=[
            dict(
                type=dataset_type,
                data_root=data_root,
                ann_file='VOC2007/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2007/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=32),
                pipeline=train_pipeline),
            dict(
                type=dataset_type,
                data_root=data_root,
                ann_file='VOC2012/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root='VOC2012/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=32),
                pipeline=train_pipeline),
        ]))
# VOC2007 test (difficult objects are ignored by the metric).
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
# VOC07 11-point mAP at IoU 0.5.
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points', iou_thrs=[0.5])
test_evaluator = val_evaluator

# ---------------------------------------------------------------- schedule
# 200 epochs; SGD lr 0.01, momentum 0.9, wd 5e-4 on every parameter, the same lr for backbone,
# extras and heads; no warm-up, no grad clip. Cosine per epoch with T_max = 200, eta_min 0:
# the reference steps CosineAnnealingLR after each epoch, so epoch e trains at
# 0.01 * (1 + cos(pi * e / 200)) / 2, as here.
max_epochs = 200
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0, by_epoch=True, begin=0,
         end=max_epochs)
]
# Batch size. lr 0.01 belongs to the reference's single batch of 32 images on one GPU, so
# base_batch_size is 32. The name follows OpenMMLab's GPUs x images-per-GPU convention: this
# config keeps 32 images per GPU, so
#   - 1 GPU (tools/train.py): exactly the reference (batch 32, lr 0.01);
#   - 8 GPUs (tools/dist_train.sh CONFIG 8): 256 images per step; add --auto-scale-lr to scale
#     lr linearly (0.08), or set train_dataloader.batch_size=4: 8 x 4 with SyncBN computes the
#     reference's batch of 32 (BN statistics over all 32 images) at lr 0.01.
auto_scale_lr = dict(enable=False, base_batch_size=32)

# ---------------------------------------------------------------- runtime
# The reference validates and saves a checkpoint every 10 epochs and evaluates the last one.
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW'),
]
