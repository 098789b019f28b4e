"""mmrnas.engine.estimators: how the search estimates its candidates and runs them (one epoch
of training and validation, with BatchNorm recalibration, CUDA graphs, concurrent CUDA
streams), and training-free scores."""
from .candidate_trainer import PRECISIONS, CandidateResult, CandidateTrainer
from .concurrent import finish, run_concurrently
from .cuda_graph import iter_steps
from .one_epoch_estimator import EXECUTION_DEFAULTS, OneEpochEstimator, build_search_estimator
from .recalibrated_bn_estimator import RecalibratedBNEstimator
from .search_estimator import SearchEstimator
from .training_free_estimator import TrainingFreeEstimator
from .zero_cost import ZERO_COST_SCORES, naswot_score, synflow_score

__all__ = [
    'CandidateResult', 'CandidateTrainer', 'PRECISIONS', 'finish', 'run_concurrently',
    'iter_steps', 'SearchEstimator', 'OneEpochEstimator', 'build_search_estimator',
    'EXECUTION_DEFAULTS', 'RecalibratedBNEstimator', 'ZERO_COST_SCORES', 'naswot_score',
    'synflow_score', 'TrainingFreeEstimator'
]
