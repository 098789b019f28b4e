# A RelativeNAS search on your own images: one sub-folder per class under data_root/train
# (mmpretrain's CustomDataset; any file OpenCV reads: png, jpg, bmp, ...), every image brought
# to 32x32 (shorter side resized, centre crop) and read once into uint8 tensors (or, when they
# exceed the memory budgets, read from the files for every batch: data_placement). The
# quickstart's budget (8 individuals, 5 generations, a C=8 L=5 proxy network) with the paper's
# CIFAR augmentation. Try it on a generated folder of real digits:
#   python tools/dataset_converters/generate_tiny_image_folder.py data/custom_folder
#   python tools/search.py configs/rnas_custom-folder.py --cfg-options \
#       train_dataloader.augment.flip=False
# For your data: train_dataloader.dataset.data_root=PATH and model.num_classes=N (a search
# whose model disagrees with the folder's classes stops with the number to set).
# Retrain the result: configs/retrain/rnas_c8l5_1xb64-30e_custom-folder-32.py.
_base_ = ['./rnas_quickstart.py']

data_root = 'data/custom_folder'
image_size = 32

model = dict(num_classes=10)  # the number of class folders

train_dataloader = dict(
    # Built in the mmpretrain scope, as in a retraining config.
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=[
            dict(type='LoadImageFromFile'),  # BGR, 3 channels (grey images too)
            dict(type='ResizeEdge', scale=image_size, edge='short'),
            dict(type='CenterCrop', crop_size=image_size),
            dict(type='PackInputs'),
        ]),
    # None: the per-channel mean / std of the decoded images (BGR order), logged at the start.
    mean=None,
    std=None,
    batch_size=64,
    # DataLoader workers that read the files: once at the start, every batch when streaming.
    num_workers=2,
    # Images that must not be mirrored (digits, text): augment.flip=False.
    augment=dict(crop_padding=4, flip=True, cutout=16))
