# A RelativeNAS search on Fashion-MNIST (70,000 real 28x28 grey images of clothing, 10
# classes): the paper's protocol (population 20, 50 generations, C16 L8, one-epoch estimates
# on a half / half split of the training images) on the 60,000 training images. The test
# images choose nothing. Prepare the data first:
#   apt-get install dataset-fashion-mnist   # or download the four files (see the tool)
#   python tools/dataset_converters/fashion_mnist.py   # -> data/fashion_mnist
# mmpretrain's FashionMNIST reads the unpacked files and picks the training files by
# test_mode=False (its `split` only names them: both are set). Retrain the result with
# configs/retrain/rnas_c16l8_1xb128-50e_fashion-mnist-28.py.
_base_ = ['./_base_/search_runtime.py']

model = dict(
    type='RelativeNASSupernet', base_channels=16, num_cells=8, num_classes=10, in_channels=1)

train_dataloader = dict(
    dataset=dict(
        type='FashionMNIST',
        data_root='data/fashion_mnist',
        split='train',
        test_mode=False,
        download=False,
        pipeline=[dict(type='PackInputs')]),
    # The 60,000 training images' mean and std on the 0..1 scale (one grey channel).
    mean=(0.2860406, ),
    std=(0.3530242, ),
    train_portion=0.5,  # 30,000 images train each candidate, 30,000 validate it
    batch_size=256,
    # Clothing may be mirrored; crop padding and cutout scaled from CIFAR's 32x32 (4, 16).
    augment=dict(crop_padding=4, flip=True, cutout=14),
    validate_with_train_augment=False)

train_cfg = dict(
    type='RelativeNASSearchLoop',
    max_generations=50,
    population_size=20,
    lr_min=0.001,
    drop_path_rate=0.3,
    final_selection=dict(type='ReevaluateSelection'))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-4),
    clip_grad=dict(max_norm=5))

randomness = dict(seed=7, deterministic=False)
