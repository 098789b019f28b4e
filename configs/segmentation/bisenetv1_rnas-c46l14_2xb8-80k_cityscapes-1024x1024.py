# BiSeNet (V1) semantic segmentation with the RelativeNAS C46 L14 ImageNet backbone as its
# context path, on Cityscapes (docs/reference.md §6.3, TL BiSeNet/BiSeNet.py, train.py, opt_utils,
# data_utils, valid.py): 1024x1024 crops, OHEM cross-entropy on the main and both auxiliary
# outputs, SGD 0.01 with a 1000-iteration exponential warm-up then poly 0.9, 80k iterations,
# 2 GPUs x 8 images, SyncBN; single-scale sliding-window evaluation on the full 1024x2048 val
# images. Reported by the paper: 78.7 mIoU (78.1 on one site), 6.94 M params (CHK 6.9446 M),
# 35.35 G mult-adds at 1024x1024.
#
# Params of this model: 6 944 702 = the reference's 6 944 645 + 57, the biases of the three
# 1x1 classifiers (mmseg's conv_seg always has one; the reference's conv_out has none). Like
# the reference count, it includes all three heads and no backbone classifier.
#
# Deviations from the reference, each explained where it is set:
# - InPlaceABNSync (BN + leaky ReLU 0.01) -> SyncBN + LeakyReLU(0.01) (same function, without
#   the in-place memory saving);
# - initialisation: mmcv ConvModule / mmseg head defaults instead of kaiming_normal_(a=1);
# - augmentation: mmseg's RandomCrop pads images smaller than the crop (the reference upscales
#   them), PhotoMetricDistortion instead of ColorJitter, and a different transform order;
# - evaluation: the sliding windows average logits, the reference sums softmax probabilities.
_base_ = [
    '../_base_/models/relativenas_c46l14.py',
    'mmseg::_base_/datasets/cityscapes_1024x1024.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_80k.py',
]

custom_imports = dict(
    imports=['mmrnas.models', 'mmrnas.downstream.mmseg_bisenetv1'],
    allow_failed_imports=False)

# The architecture: a known name, a best_genotype.yaml or Genotype(...) text.
genotype = 'RelativeNAS'
# ImageNet weights of the backbone, `backbone.*` keys: the reference's
# PairNAS_CIFAR10_ImageNet_weight.pth converted with
#   python tools/model_converters/relativenas_to_mmrnas.py SRC DST --backbone-only
# or the `backbone.*` part of a checkpoint of configs/retrain/rnas_c46l14_8xb128-250e_in1k.py.
# (`--cfg-options` cannot change this variable after parsing: override
# model.backbone.backbone_cfg.init_cfg.checkpoint instead.)
pretrained = 'checkpoints/rnas_c46l14_in1k_backbone.pth'

crop_size = (1024, 1024)
num_classes = 19

# InPlaceABNSync(activation='leaky_relu', slope=0.01) in every ConvBNReLU of the reference:
# SyncBN followed by LeakyReLU(0.01) is the same function (mmengine reverts SyncBN to BN when
# training is not distributed). The attention BNs have no activation, as in the reference.
norm_cfg = dict(type='SyncBN', requires_grad=True)
act_cfg = dict(type='LeakyReLU', negative_slope=0.01)

# ---------------------------------------------------------------- loss
# OHEM cross-entropy on each of the three outputs, weight 1 each, ignore 255: the reference's
# OhemCELoss(thresh=0.7, n_min=bs*1024*1024//16) with bs = 8 images per GPU keeps the pixels
# whose loss exceeds -log(0.7), or the n_min hardest when fewer, and averages over them.
# mmseg's OHEMPixelSampler keeps pixels with a ground-truth probability below 0.7, or the
# min_kept * batch hardest (valid) pixels when fewer: the same selection with
# min_kept = 1024 * 1024 // 16 = 65536 per image (8 * 65536 = n_min per GPU). Scale it with the
# crop when you change crop_size. OhemCrossEntropyLoss averages over the kept pixels as the
# reference does (mmseg's CrossEntropyLoss would average over all pixels, i.e. scale the loss
# by the kept fraction).
ohem_sampler = dict(
    type='OHEMPixelSampler', thresh=0.7, min_kept=crop_size[0] * crop_size[1] // 16)
ohem_loss = dict(type='mmrnas.OhemCrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)

# ---------------------------------------------------------------- model
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # ImageNet normalisation of RGB images, as the reference.
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    # Training crops smaller than 1024x1024 (only from the 0.75 scale, 768 px high) are padded
    # to the crop size: image 0, label 255 (ignored). See the RandomCrop note below.
    size=crop_size)

# The reference's three outputs: main head 3x3 256 -> 256 (+ BN + act) -> 1x1 -> 19 on the
# fused stride-8 map, and two auxiliary heads 3x3 128 -> 64 (+ BN + act) -> 1x1 -> 19 on the
# stride-8 and stride-16 context-path maps. No dropout (the reference has none; mmseg's
# BiSeNetV1 configs use 0.1). Logits are upsampled bilinearly with align_corners=True before
# the loss and in inference, as the reference's F.interpolate calls.
def _head(in_channels, channels, in_index):
    return dict(
        type='FCNHead',
        in_channels=in_channels,
        in_index=in_index,
        channels=channels,
        num_convs=1,
        kernel_size=3,
        concat_input=False,
        dropout_ratio=0.,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg,
        align_corners=True,
        sampler=ohem_sampler,
        loss_decode=ohem_loss)


model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        # Replaces the base's model.backbone (the RelativeNAS network goes into backbone_cfg).
        _delete_=True,
        # mmseg's BiSeNetV1 with the fusion input channels fixed (128 + 128 = 256; mmseg
        # 1.2.2 would build context_channels[1] = 368), norm / act configs passed to every
        # block, the reference's SE-style fusion attention, and a build-time check of the
        # backbone pyramid: mmrnas/downstream/mmseg_bisenetv1.py.
        type='mmrnas.RelativeNASBiSeNetV1',
        in_channels=3,
        # Spatial path: 7x7 s2 (64) -> 3x3 s2 (64) -> 3x3 s2 (64) -> 1x1 (128).
        spatial_channels=(64, 64, 64, 128),
        # Context path: ARM(368 -> 128) on the stride-16 map, ARM(736 -> 128) on the stride-32
        # map, global-average context 1x1 736 -> 128, 3x3 128 head convs; outputs 128-channel
        # maps at strides 8 and 16.
        context_channels=(128, 368, 736),
        # FFM(256 -> 256) with the SE attention 256 -> 64 -> 256 (reference: out_chan // 4).
        out_channels=256,
        ffm_attention_channels=64,
        # Outputs: fused map (main head), stride-8 and stride-16 context maps (aux heads).
        out_indices=(0, 1, 2),
        align_corners=False,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg,
        # NetworkImageNet(46, 1000, 14, aux=False, RelativeNAS) without classifier and
        # drop-path. mmseg's ContextPath unpacks four maps (x_4, x_8, x_16, x_32): out indices
        # 0..3, i.e. 46 / 184 / 368 / 736 channels at strides 4 / 8 / 16 / 32. It discards x_4
        # and uses only the size of x_8; the reference reads the stride-16 and stride-32 maps.
        # The C46 L14 mobile backbone of configs/_base_/models/relativenas_c46l14.py.
        backbone_cfg=dict(
            _base_.model.backbone,
            genotype=genotype,
            out_indices=(0, 1, 2, 3),
            norm_cfg=norm_cfg,
            drop_path_rate=0.0,
            init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
        init_cfg=None),
    decode_head=_head(256, 256, 0),
    auxiliary_head=[_head(128, 64, 1), _head(128, 64, 2)],
    train_cfg=dict(),
    # Single scale, no flip, on the full 1024x2048 image: 1024x1024 windows with stride
    # ceil(1024 * 5 / 6) = 854, which gives the reference's windows exactly (x = 0, 854, 1024).
    # mmseg averages the windows' logits; the reference sums their softmax probabilities (the
    # argmax can differ only where windows overlap). The reference's optional multi-scale +
    # flip evaluation (--ms yes) is mmseg's tta_pipeline with --tta.
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(854, 854)))

# ---------------------------------------------------------------- data
# Cityscapes 2975 train / 500 val, labelTrainIds (19 classes, 255 ignored): mmseg's
# CityscapesDataset under data/cityscapes (tools/dataset_converters/cityscapes.py of mmseg
# writes the *_labelTrainIds.png files).
#
# Reference training augmentation: ColorJitter(0.5, 0.5, 0.5), horizontal flip, random scale
# from {0.75, 1, 1.25, 1.5, 1.75, 2}, random 1024x1024 crop.
# - The scale is one of the six factors exactly: RandomChoiceResize to (2048, 1024) * r with
#   keep_ratio (for 2048x1024 Cityscapes images, the factor r itself).
# - RandomCrop without cat_max_ratio (the reference has none; mmseg's Cityscapes base uses
#   0.75). Where the scaled image is smaller than the crop (r = 0.75: 1536x768), mmseg crops
#   768x1024 and the data preprocessor pads it (label 255); the reference upscales such images
#   until they cover the crop.
# - PhotoMetricDistortion for ColorJitter: contrast and saturation factors in [0.5, 1.5] as the
#   reference, but each applied with probability 0.5, brightness additive (+-32) instead of a
#   factor in [0.5, 1.5], and hue_delta=1 (the smallest it accepts; the reference has no hue
#   jitter).
# - Order: scale, crop, flip, colour (the reference: colour, flip, scale, crop); the result
#   has the same distribution up to the colour statistics of the crop.
scale_ratios = (0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomChoiceResize',
        scales=[(int(2048 * r), int(1024 * r)) for r in scale_ratios],
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=1.0),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='PhotoMetricDistortion',
        brightness_delta=32,
        contrast_range=(0.5, 1.5),
        saturation_range=(0.5, 1.5),
        hue_delta=1),
    dict(type='PackSegInputs')
]
# Evaluation at the images' own size (Cityscapes: 2048x1024, as the reference); mmseg's
# Cityscapes base resizes to (2048, 1024), which is the identity there.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
# 8 images per GPU on 2 GPUs (DDP), as the reference; the reference drops the last incomplete
# batch and reshuffles every epoch, the InfiniteSampler shuffles an endless stream.
train_dataloader = dict(
    batch_size=8, num_workers=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=1, num_workers=4, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

# ---------------------------------------------------------------- schedule
# SGD lr 0.01, momentum 0.9, weight decay 5e-4, none on biases and norm layers; lr x10 (and
# still no decay on their norm layers and biases) on the fusion module and the three output
# heads, as the reference's four parameter groups. In mmengine a custom key overrides the
# norm / bias rules for the parameters it matches, hence the explicit no-decay keys (the FFM's
# SE convs and the head convs before BN have no bias; the classifiers' biases are mmseg's).
# Keys match parameter names by substring, longest key first.
lr_x10 = dict(lr_mult=10.)
lr_x10_no_decay = dict(lr_mult=10., decay_mult=0.)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    clip_grad=None,
    paramwise_cfg=dict(
        norm_decay_mult=0.,
        bias_decay_mult=0.,
        custom_keys={
            'backbone.ffm': lr_x10,
            'backbone.ffm.conv1.bn': lr_x10_no_decay,
            'decode_head': lr_x10,
            'decode_head.convs.0.bn': lr_x10_no_decay,
            'decode_head.conv_seg.bias': lr_x10_no_decay,
            'auxiliary_head': lr_x10,
            'auxiliary_head.0.convs.0.bn': lr_x10_no_decay,
            'auxiliary_head.0.conv_seg.bias': lr_x10_no_decay,
            'auxiliary_head.1.convs.0.bn': lr_x10_no_decay,
            'auxiliary_head.1.conv_seg.bias': lr_x10_no_decay,
        }))

# The reference's lr at iteration i (0-based, in that iteration's update):
#   i <= 1000: 1e-5 * 1000 ** (i / 1000)   (exponential warm-up from 1e-5 to 0.01)
#   i >  1000: 0.01 * (1 - (i - 1000) / 79000) ** 0.9
# mmengine's schedulers are chained (each multiplies the current lr), which gives exactly
# this: ConstantLR scales by 1e-3 at iteration 0 and, its range ending at 1, never restores;
# ExponentialLR multiplies by 1000 ** (1 / 1000) after each of the iterations 0..999; PolyLR
# (eta_min 0) then decays from 0.01 over the remaining 79 000 iterations, reaching 0 at
# iteration 80 000 (end=80001: the reference's (1 - s / 79000) ** 0.9 exactly). The x10
# groups follow the same curve x10. (mmseg's configs use a linear warm-up and eta_min 1e-4.)
warmup_iters = 1000
max_iters = 80000
param_scheduler = [
    dict(type='ConstantLR', factor=1e-3, by_epoch=False, begin=0, end=1),
    dict(
        type='ExponentialLR',
        gamma=1000**(1 / warmup_iters),
        by_epoch=False,
        begin=0,
        end=warmup_iters + 1),
    dict(
        type='PolyLR',
        eta_min=0.,
        power=0.9,
        by_epoch=False,
        begin=warmup_iters,
        end=max_iters + 1),
]
# 80k iterations; the reference evaluates only the final model, mmseg's 80k schedule every
# 8k iterations (kept: it costs little and shows progress).
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=8000)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=8000, save_best='mIoU'))

# The reference batch: 2 GPUs x 8 images (enable with --auto-scale-lr on other setups).
auto_scale_lr = dict(enable=False, base_batch_size=16)
# The reference seeds numpy and torch with 0 (and runs cuDNN in deterministic mode).
randomness = dict(seed=0)
