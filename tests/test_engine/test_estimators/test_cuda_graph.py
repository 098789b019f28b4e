"""iter_steps: eager epochs everywhere; graph replay equals eager steps on a CUDA device."""
from contextlib import nullcontext

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmrnas.engine.estimators import finish, iter_steps


def test_eager_steps_run_in_order_with_before_step_and_yield_after_each():
    calls = []
    batches = [(torch.full((4, ), float(i)), torch.zeros(4), 4, nullcontext()) for i in range(3)]
    run = iter_steps(lambda x, y, size, ctx: calls.append(('step', int(x[0]), size)), batches, 4,
                     before_step=lambda: calls.append('before'))
    next(run)
    assert calls == ['before', ('step', 0, 4)]
    finish(run)
    assert calls == ['before', ('step', 0, 4), 'before', ('step', 1, 4), 'before', ('step', 2, 4)]


def _train(use_graph: bool):
    """Ten full batches and a short last one through a small BN network: SGD with momentum
    and weight decay, grad-norm clipping, loss accumulated on the device."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10)).cuda()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=3e-4)
    total = torch.zeros((), device='cuda')
    data = torch.randn(10 * 16 + 5, 3, 8, 8, device='cuda')
    labels = torch.randint(0, 10, (data.shape[0], ), device='cuda')

    def step(inputs, targets, size, context):
        loss = F.cross_entropy(model(inputs), targets)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()
        total.add_(loss.detach() * size)

    batches = [(data[i:i + 16], labels[i:i + 16], len(labels[i:i + 16]), nullcontext())
               for i in range(0, data.shape[0], 16)]
    finish(iter_steps(step, batches, 16, use_graph, warmup_steps=3,
                      before_step=lambda: optimizer.zero_grad(set_to_none=True)))
    torch.cuda.synchronize()
    return total.item(), model.state_dict()


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_graph_replay_trains_like_eager_steps():
    eager_loss, eager_state = _train(use_graph=False)
    graph_loss, graph_state = _train(use_graph=True)
    assert graph_loss == pytest.approx(eager_loss, rel=1e-5)
    for key, value in eager_state.items():
        torch.testing.assert_close(graph_state[key], value, rtol=1e-4, atol=1e-5, msg=key)
