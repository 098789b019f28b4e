# Retraining a genotype on your own images, the folder configs/rnas_custom-folder.py searched
# on: data_root/train/CLASS/* to train, data_root/val/CLASS/* to validate (mmpretrain's
# CustomDataset, the same loading and 32x32 resizing as the search).
#   python tools/train.py configs/retrain/rnas_c8l5_1xb64-30e_custom-folder-32.py \
#       --cfg-options genotype=work_dirs/rnas_custom-folder/best_genotype.yaml
# For your data set num_classes and data_root below (or override model.head.num_classes,
# data_preprocessor.num_classes and the *_dataloader.dataset.data_root entries). The digits
# recipe (C8 L5, lr 0.05, no auxiliary head, drop path 0.1 * e / E) at 32x32 with the CIFAR
# augmentation (crop with 4-pixel padding, flip) and 30 epochs.
_base_ = ['./rnas_c8l5_1xb64-12e_digits-16.py']

data_root = 'data/custom_folder'
num_classes = 10
image_size = 32
max_epochs = 30

model = dict(head=dict(num_classes=num_classes))

# Images stay in LoadImageFromFile's BGR order, as in the search. ImageNet's mean / std (BGR);
# for your data paste the search's logged "search data: ... mean (...) std (...)" x 255.
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[103.53, 116.28, 123.675],
    std=[57.375, 57.12, 58.395],
    to_rgb=False)

load_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=image_size, edge='short'),
    dict(type='CenterCrop', crop_size=image_size),
]
train_pipeline = load_pipeline + [
    dict(type='RandomCrop', crop_size=image_size, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = load_pipeline + [dict(type='PackInputs')]


# data_root/train and data_root/val (replacing the digits datasets of the base config).
folder_dataset = dict(_delete_=True, type='CustomDataset', data_root=data_root)
train_dataloader = dict(
    num_workers=2,
    persistent_workers=True,
    dataset=dict(folder_dataset, data_prefix='train', pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    persistent_workers=True,
    dataset=dict(folder_dataset, data_prefix='val', pipeline=test_pipeline))
test_dataloader = val_dataloader

param_scheduler = dict(T_max=max_epochs, end=max_epochs)
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(checkpoint=dict(interval=max_epochs))
