"""mmrnas.datasets: fast search-time data held on the device (torch only at import time)."""
from .cifar import CIFAR10_MEAN, CIFAR10_STD, CIFAR100_MEAN, CIFAR100_STD, load_cifar
from .device_data import BatchAugment, DeviceDataset
from .digits import DIGITS_MEAN, DIGITS_STD, load_digits
from .split import split_indices

__all__ = [
    'BatchAugment', 'CIFAR100_MEAN', 'CIFAR100_STD', 'CIFAR10_MEAN', 'CIFAR10_STD',
    'DIGITS_MEAN', 'DIGITS_STD', 'DeviceDataset', 'load_cifar', 'load_digits', 'split_indices'
]
