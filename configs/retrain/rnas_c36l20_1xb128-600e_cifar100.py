# RelativeNAS CIFAR-100 retraining (docs/reference.md §6.1): the CIFAR-10 recipe with 100 classes,
# CIFAR-100's own mean / std, and the same CIFAR-10-searched cell (genotype 'RelativeNAS').
_base_ = ['./rnas_c36l20_1xb128-600e_cifar10.py']

num_classes = 100
# The reference's CIFAR-100 mean (0.5071, 0.4867, 0.4408) and std (0.2675, 0.2565, 0.2761)
# x 255 (mmpretrain's base has slightly different values).
mean = [129.3105, 124.1085, 112.4040]
std = [68.2125, 65.4075, 70.4055]
# Cutout fill: the mean rounded to uint8 (see the CIFAR-10 config).
cutout_fill = (129, 124, 112)

model = dict(head=dict(num_classes=num_classes))
data_preprocessor = dict(num_classes=num_classes, mean=mean, std=std)

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Cutout', shape=16, pad_val=cutout_fill, prob=1.0),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    dataset=dict(type='CIFAR100', data_root='data/cifar100', pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type='CIFAR100', data_root='data/cifar100', pipeline=test_pipeline))
test_dataloader = val_dataloader
