# Runtime shared by the RelativeNAS search configs: mmrnas scope, the search outputs, and no
# MMEngine checkpoint hook (the search loop writes its own atomic, exactly resumable
# checkpoints every generation into work_dir/checkpoints).
default_scope = 'mmrnas'

default_hooks = dict(
    runtime_info=None,  # needs a DataLoader; the search data lives on the device
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook'),
    param_scheduler=None,
    checkpoint=None,
    sampler_seed=None)
custom_hooks = [
    dict(type='GenotypeDumpHook'),  # genotypes/, history.jsonl, best_genotype.yaml + drawings
    dict(type='SearchPlotHook'),  # search_progress.png
]

env_cfg = dict(
    cudnn_benchmark=True,  # the reference searches with cudnn.benchmark=True
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=7, deterministic=False)  # the reference seeds numpy and torch with 7
