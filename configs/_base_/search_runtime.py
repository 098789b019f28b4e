# Runtime shared by the RelativeNAS search configs: mmrnas scope, the search outputs, and no
# MMEngine checkpoint hook (the search loop writes its own atomic, exactly resumable
# checkpoints every generation into work_dir/checkpoints).
default_scope = 'mmrnas'

# An epoch of the search is a generation and an iteration a pair (no optimizer step):
# SearchLoggerHook logs every pair and generation and publishes their numbers through the
# MessageHub and the visualizer below, in place of MMEngine's LoggerHook (which logs an
# optimizer's iterations). Hooks of your own see every pair (before/after_train_iter, its
# scalars as outputs) and generation (after_train_epoch).
default_hooks = dict(
    runtime_info=None,
    timer=None,
    logger=dict(type='SearchLoggerHook'),
    param_scheduler=None,
    checkpoint=None,
    sampler_seed=None)
custom_hooks = [
    dict(type='GenotypeDumpHook'),  # genotypes/, history.jsonl, best_genotype.yaml + drawings
    dict(type='SearchPlotHook'),  # search_progress.png
]
# search/* scalars per pair and per generation: <work_dir>/<time>/vis_data/scalars.json; add
# dict(type='TensorboardVisBackend') (or WandbVisBackend) for curves in TensorBoard (W&B).
visualizer = dict(type='Visualizer', vis_backends=[dict(type='LocalVisBackend')])

env_cfg = dict(
    cudnn_benchmark=True,  # the reference searches with cudnn.benchmark=True
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=7, deterministic=False)  # the reference seeds numpy and torch with 7
