"""Training-free scores: SynFlow and NASWOT on hand-checkable networks and on candidates."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from mmrnas.engine.estimators import naswot_score, synflow_score
from mmrnas.models import RelativeNASSupernet
from mmrnas.search.encoding import decode, random_vectors

pytestmark = pytest.mark.usefixtures('one_thread')


def test_synflow_of_a_linear_chain():
    """R = sum(|W2| |W1| 1): each weight's |w dR/dw| sums to R per layer, 2R in all."""
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False), nn.ReLU(),
                        nn.Linear(3, 2, bias=False))
    with torch.no_grad():
        net[1].weight.copy_(torch.tensor([[1., -2, 0, 1], [0, 1, 1, -1], [2, 0, 0, 0]]))
        net[3].weight.copy_(torch.tensor([[1., 1, -1], [0, 2, 0]]))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    inputs = torch.randn(5, 1, 2, 2)  # only its shape counts
    total = (net[3].weight.abs() @ net[1].weight.abs() @ torch.ones(4)).sum().item()
    assert synflow_score(net, inputs) == pytest.approx(2 * total)
    for key, value in net.state_dict().items():  # the network is left as it was
        assert torch.equal(value, before[key])


def test_naswot_of_known_activation_patterns():
    """Two ReLU units; images with codes (1, 1), (1, 0), (0, 0): K = [[2, 1, 0], [1, 2, 1],
    [0, 1, 2]], det 4."""
    net = nn.Sequential(nn.Flatten(), nn.Identity(), nn.ReLU())
    inputs = torch.tensor([[1., 1], [1, -1], [-1, -1]]).view(3, 1, 1, 2)
    assert naswot_score(net, inputs) == pytest.approx(math.log(4))
    with pytest.raises(ValueError, match='needs nn.ReLU modules; Sequential has none'):
        naswot_score(nn.Sequential(nn.Flatten()), inputs)


def test_scores_of_candidates_leave_them_unchanged_and_order_cells():
    torch.manual_seed(0)
    weight_set = RelativeNASSupernet(base_channels=4, num_cells=3, num_classes=10)
    inputs = torch.randn(16, 3, 8, 8)
    genotypes = [decode(v) for v in random_vectors(3, np.random.Generator(np.random.PCG64(0)))]
    scores = []
    for genotype in genotypes:
        candidate = weight_set.extract(genotype)
        state = {k: v.clone() for k, v in candidate.state_dict().items()}
        scores.append((synflow_score(candidate, inputs), naswot_score(candidate, inputs)))
        assert candidate.training
        for key, value in candidate.state_dict().items():
            assert torch.equal(value, state[key]), key
        # deterministic, and drop path does not enter the scores
        assert scores[-1] == (synflow_score(candidate, inputs), naswot_score(candidate, inputs))
        dropping = weight_set.extract(genotype, drop_path_rate=0.5)
        assert scores[-1] == (synflow_score(dropping, inputs), naswot_score(dropping, inputs))
        assert dropping.drop_path_rate == 0.5
    assert all(math.isfinite(s) and s > 0 for pair in scores for s in pair)
    assert len({pair[0] for pair in scores}) == 3  # the cells differ
