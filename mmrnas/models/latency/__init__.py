"""Latency of the network a genotype is retrained as, measured on this machine: the timing
protocol and the lookup table that predicts it for any genotype."""
from .latency_table import (
    LatencyTable,
    latency_cache_dir,
    measure_latency,
    parse_latency,
    random_genotype,
    uniform_genotype,
)
from .timing import BACKENDS, DEVICES, REPEATS, WARMUP, check_backend, device_name, time_module

__all__ = [
    'LatencyTable', 'latency_cache_dir', 'measure_latency', 'parse_latency', 'random_genotype',
    'uniform_genotype', 'BACKENDS', 'DEVICES', 'REPEATS', 'WARMUP', 'check_backend',
    'device_name', 'time_module'
]
