"""mmrnas.datasets: fast search-time data held on the device (torch only at import time)."""
from .device_data import BatchAugment, BatchSource, DeviceDataset
from .digits import load_digits
from .host_data import (
                        HostDataset,
                        choose_placement,
                        default_host_budget,
                        default_memory_budget,
                        parse_memory_size,
)
from .sample_reader import SampleReader
from .search_data import (
                        SearchData,
                        build_search_dataset,
                        build_search_split,
                        dataset_identity,
                        describe_search_data,
                        load_search_dataset,
                        prepare_search_data,
                        read_search_data,
                        reuse_search_data,
)
from .split import split_indices
from .stream_data import SampleLoaders, StreamDataset

__all__ = [
    'BatchAugment', 'BatchSource', 'DeviceDataset', 'load_digits', 'split_indices',
    'build_search_dataset', 'describe_search_data', 'load_search_dataset', 'build_search_split',
    'dataset_identity', 'HostDataset', 'choose_placement', 'default_memory_budget',
    'default_host_budget', 'parse_memory_size', 'SampleReader', 'SearchData', 'read_search_data',
    'prepare_search_data', 'reuse_search_data', 'SampleLoaders', 'StreamDataset'
]
