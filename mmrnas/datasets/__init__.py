"""mmrnas.datasets: the search's data, served as batches on the device (torch and MMEngine's
registry only at import time)."""
from .batch_augment import BatchAugment
from .batch_source import BatchSource
from .digits import load_digits
from .placement import (
                        DATA_PLACEMENTS,
                        choose_placement,
                        default_host_budget,
                        default_memory_budget,
                        format_size,
                        parse_memory_size,
)
from .sample_loaders import SampleLoaders
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
from .search_dataloader import DATALOADER_KEYS, build_batch_augment, parse_search_dataloader
from .split import split_indices
from .stream_batches import StreamBatches
from .tensor_batches import TensorBatches

__all__ = [
    'BatchAugment', 'BatchSource', 'TensorBatches', 'StreamBatches', 'load_digits',
    'split_indices', 'build_search_dataset', 'describe_search_data', 'load_search_dataset',
    'build_search_split', 'dataset_identity', 'DATA_PLACEMENTS', 'choose_placement',
    'default_memory_budget', 'default_host_budget', 'format_size', 'parse_memory_size',
    'SampleReader', 'SearchData', 'read_search_data', 'prepare_search_data', 'reuse_search_data',
    'SampleLoaders', 'DATALOADER_KEYS', 'build_batch_augment', 'parse_search_dataloader'
]
