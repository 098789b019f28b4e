"""mmrnas.datasets: fast search-time data held on the device (torch only at import time)."""
from .device_data import BatchAugment, DeviceDataset
from .digits import load_digits
from .host_data import HostDataset, choose_placement, default_memory_budget, parse_memory_size
from .search_data import (
                          build_search_dataset,
                          build_search_split,
                          dataset_identity,
                          decode_dataset,
                          describe_search_data,
                          image_statistics,
                          load_search_dataset,
)
from .split import split_indices

__all__ = [
    'BatchAugment', 'DeviceDataset', 'load_digits', 'split_indices', 'build_search_dataset',
    'decode_dataset', 'describe_search_data', 'image_statistics', 'load_search_dataset',
    'build_search_split', 'dataset_identity', 'HostDataset', 'choose_placement',
    'default_memory_budget', 'parse_memory_size'
]
