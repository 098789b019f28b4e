"""SearchBudget: objectives, decisions, archive, front, hypervolume report; NoBudget and the
budget part's config."""
import math
import types

import pytest

from mmrnas.registry import TASK_UTILS
from mmrnas.search.budget import NoBudget, SearchBudget, build_search_budget, parse_objectives
from mmrnas.search.genotype_cost import GenotypeCost
from mmrnas.structures import Genotype, get_genotype

DIGITS_NET = dict(base_channels=8, num_cells=5, stem='cifar', num_classes=10, input_size=16)
RELATIVENAS, DARTS, POOLING = (get_genotype('RelativeNAS'), get_genotype('DARTS_V2'),
                               Genotype([('max_pool_3x3', 0)] * 8, range(2, 6),
                                        [('max_pool_3x3', 0)] * 8, range(2, 6)))


@pytest.fixture(scope='module')
def cost():
    return GenotypeCost(**DIGITS_NET)


def budget(cost, bounds=None, objectives=None):
    built = SearchBudget(bounds, objectives, cost)
    built.setup(num_classes=10, in_channels=3)
    return built


@pytest.mark.parametrize('objectives, message', [
    (('val_loss', 'mult_add'), "train_cfg.objectives: unknown key(s) 'mult_add' (did you mean "
                                  "'mult_adds'?)"),
    (('params', 'val_loss'), "must be 'val_loss' followed by one or more of"),
    (('val_loss', ), "must be 'val_loss' followed by one or more of"),
    (('val_loss', 'params', 'params'), "must be 'val_loss' followed by one or more of"),
    ('val_loss', 'train_cfg.objectives must be a list'),
])
def test_bad_objectives(objectives, message):
    with pytest.raises(ValueError) as error:
        parse_objectives(objectives)
    assert message in str(error.value)


def test_built_from_the_config_and_from_the_flat_shorthands():
    assert type(build_search_budget(None, None, DIGITS_NET, None)) is NoBudget
    nested = dict(type='SearchBudget', constraints=dict(params=4e4),
                  objectives=['val_loss', 'params'], cost=dict(type='GenotypeCost', **DIGITS_NET))
    flat = build_search_budget(None, dict(params=4e4), DIGITS_NET, ['val_loss', 'params'])
    for built in (build_search_budget(nested), flat):
        built.setup(num_classes=10, in_channels=3)
        # the keys earlier versions recorded: their checkpoints resume
        assert built.settings == dict(constraints=dict(params=[0.0, 4e4]),
                                      constraint_model=dict(DIGITS_NET, in_channels=3),
                                      objectives=['val_loss', 'params'])
        assert built.loss_scale == math.log(10)
        assert built.cost_scales == dict(params=102370, mult_adds=4312320)
    grey = build_search_budget(None, dict(params=4e4), DIGITS_NET, None)
    grey.setup(num_classes=10, in_channels=1)
    assert grey.cost.config['in_channels'] == 1  # the search data's channels by default


@pytest.mark.parametrize('args, message', [
    ((None, dict(params=4e4), None, None), 'constraints and objectives need the network you '
     "will retrain, whose params and mult-adds are counted: train_cfg.constraint_model=dict("
     "type='GenotypeCost'"),
    ((dict(type='SearchBudget', constraints=dict(params=4e4)), ), 'train_cfg.budget.cost=dict('),
    ((dict(type='SearchBudget', constraints=dict(param=4e4), cost=DIGITS_NET), ),
     "train_cfg.budget.constraints: unknown key(s) 'param' (did you mean 'params'?)"),
    ((None, dict(param=4e4), DIGITS_NET, None),
     "train_cfg.constraints: unknown key(s) 'param' (did you mean 'params'?)"),
    ((dict(type='SearchBudget', objectives=['params'], cost=DIGITS_NET), ),
     "train_cfg.budget.objectives must be 'val_loss' followed by"),
    ((dict(type='SearchBudget', cost=DIGITS_NET), ), 'SearchBudget needs constraints or '
     'objectives'),
    ((dict(type='SearchBudget', constraints=dict(params=4e4)), dict(params=4e4)),
     'train_cfg.constraints set beside train_cfg.budget: they are now spelled inside it'),
    ((dict(type='Budget'), ), "budget={'type': 'Budget'}: Budget is not in the mmrnas::task "
     'util registry'),
])
def test_bad_budget_is_one_error(args, message):
    with pytest.raises(ValueError) as error:
        build_search_budget(*args)
    assert message in str(error.value)


def test_bad_cost_model_is_named_where_it_is():
    nested = build_search_budget(dict(type='SearchBudget', constraints=dict(params=4e4),
                                      cost=dict(DIGITS_NET, depth=3)))
    with pytest.raises(ValueError, match=r"train_cfg.budget.cost: unknown key\(s\) 'depth'"):
        nested.setup(num_classes=10, in_channels=3)
    unreachable = build_search_budget(dict(type='SearchBudget', constraints=dict(params=1e4),
                                           cost=DIGITS_NET))
    with pytest.raises(ValueError, match=r'train_cfg.budget.constraints.params=\(0, 10000\) is '
                       'out of reach'):
        unreachable.setup(num_classes=10, in_channels=3)


def test_no_budget_leaves_every_decision_to_the_teacher_rule():
    none = NoBudget()
    record, final = dict(val_loss=[0.1, 0.2], val_accuracy=[90.0, 80.0]), dict(genotype='x')
    none.annotate_pair(record, [RELATIVENAS, POOLING], 1)
    none.annotate_generation(record, [RELATIVENAS])
    none.annotate_final(final, True, logger=None)
    none.record(RELATIVENAS, 1, 0.1, 90.0)
    assert record == dict(val_loss=[0.1, 0.2], val_accuracy=[90.0, 80.0])
    assert final == dict(genotype='x') and none.archive == [] and none.state_dict() is None
    assert none.teacher([RELATIVENAS, POOLING], [0.1, 0.2]) is None
    assert none.feasible(RELATIVENAS) and none.violation(RELATIVENAS) == 0.0
    assert none.settings == dict(constraints=None, constraint_model=None, objectives=None)


def test_no_budget_by_name_and_a_users_budget_on_it_records_its_config():
    assert build_search_budget(dict(type='NoBudget')).settings == dict(
        constraints=None, constraint_model=None, objectives=None)

    @TASK_UTILS.register_module(force=True)
    class FirstMemberBudget(NoBudget):
        def teacher(self, genotypes, val_losses):
            return 0

    try:
        cfg = dict(type='FirstMemberBudget')
        assert build_search_budget(cfg).settings == dict(
            constraints=None, constraint_model=None, objectives=None, budget=cfg)
    finally:
        TASK_UTILS._module_dict.pop('FirstMemberBudget')


@pytest.mark.parametrize('kind', ['mmrnas.GenotypeCost', GenotypeCost, 'LoggedCost'])
def test_any_spelling_of_the_cost_model_takes_the_datas_channels(kind):
    @TASK_UTILS.register_module(force=True)
    class LoggedCost(GenotypeCost):
        """A user's cost model (a subclass)."""

    try:
        built = build_search_budget(dict(type='SearchBudget', constraints=dict(params=4e4),
                                         cost=dict(DIGITS_NET, type=kind)))
        built.setup(num_classes=10, in_channels=1)
        assert built.cost.config == dict(DIGITS_NET, in_channels=1)  # no 'type'
        assert type(built.cost) is (LoggedCost if kind == 'LoggedCost' else GenotypeCost)
        assert built.costs(POOLING)['params'] == 15458 - 2 * 3 * 3 * 8 * 3  # grey stem
    finally:
        TASK_UTILS._module_dict.pop('LoggedCost')
    with pytest.raises(ValueError, match=r"train_cfg.budget.cost.type='NoSuchCost' is not "):
        build_search_budget(dict(type='SearchBudget', constraints=dict(params=4e4),
                                 cost=dict(DIGITS_NET, type='NoSuchCost'))).setup(10, 3)


def test_objectives_alone_count_no_violation():
    pareto = budget(GenotypeCost(**DIGITS_NET), objectives=('val_loss', 'params'))
    before = set(pareto.cost._cache)
    assert pareto.violation(DARTS) == 0.0
    assert set(pareto.cost._cache) == before  # DARTS_V2's network was not built


def test_a_registered_budget_records_its_config(cost):
    @TASK_UTILS.register_module(force=True)
    class OddParamsBudget(SearchBudget):
        """Prefers cells with an odd parameter count (a user's own rule)."""

        def teacher(self, genotypes, val_losses):
            odd = [self.costs(g)['params'] % 2 for g in genotypes]
            return None if odd[0] == odd[1] else odd.index(1)

    try:
        cfg = dict(type='OddParamsBudget', constraints=dict(params=1e5), cost=DIGITS_NET)
        built = build_search_budget(cfg)
        built.setup(num_classes=10, in_channels=3)
        assert built.settings['budget'] == cfg
        assert built.teacher([RELATIVENAS, POOLING], [0.1, 0.2]) is None  # both even
    finally:
        TASK_UTILS._module_dict.pop('OddParamsBudget')


def test_annotations_of_a_constrained_search(cost):
    limited = budget(cost, dict(params=(0.0, 40000.0)))
    record = dict(val_loss=[0.1, 0.2], val_accuracy=[90.0, 80.0])
    limited.annotate_pair(record, [RELATIVENAS, POOLING], 1)
    assert record['costs'] == [cost(RELATIVENAS), cost(POOLING)]
    assert record['violation'] == [pytest.approx((53770 - 40000) / 40000), 0.0]
    generation = {}
    limited.annotate_generation(generation, [RELATIVENAS, POOLING, POOLING, POOLING])
    assert generation == dict(feasible_share=0.75)
    warnings = []
    final = dict(genotype=str(RELATIVENAS))
    limited.annotate_final(final, False, types.SimpleNamespace(warning=warnings.append))
    assert final['feasible'] is False and final['constraints'] == dict(params=[0.0, 40000.0])
    assert 'no genotype of the final population meets the constraints' in warnings[0]


def test_constrained_decisions(cost):
    # RelativeNAS 53,770 params, DARTS_V2 below it, all pooling 15,458
    darts = cost(DARTS)['params']
    limited = budget(cost, dict(params=(0.0, 40000.0)))
    assert limited.feasible(POOLING) and not limited.feasible(RELATIVENAS)
    assert limited.violation(RELATIVENAS) == pytest.approx((53770 - 40000) / 40000)
    assert limited.teacher([RELATIVENAS, POOLING], [0.1, 2.0]) == 1  # feasible wins
    assert limited.teacher([POOLING, POOLING], [0.1, 2.0]) is None  # both feasible: criterion
    both_over = budget(cost, dict(params=(0.0, 20000.0)))
    expected = 0 if darts < 53770 else 1
    assert both_over.teacher([DARTS, RELATIVENAS], [2.0, 0.1]) == expected
    assert limited.archive == []  # single objective: no archive


def test_multi_objective_decisions_archive_and_front(cost):
    pareto = budget(cost, objectives=('val_loss', 'params'))
    # the cheaper network with the lower loss dominates
    assert pareto.teacher([POOLING, RELATIVENAS], [0.5, 0.6]) == 0
    pareto.record(RELATIVENAS, 1, 0.4, 88.0)
    pareto.record(POOLING, 1, 0.9, 70.0)
    pareto.record(RELATIVENAS, 2, 0.3, 90.0)  # the latest estimate of a genotype counts
    pareto.record(DARTS, 2, None, None)  # not finite: in the archive, never on the front
    assert [entry['generation'] for entry in pareto.archive] == [1, 1, 2, 2]
    assert pareto.archive[0] == dict(genotype=str(RELATIVENAS), generation=1, val_loss=0.4,
                                     val_accuracy=88.0, params=53770, mult_adds=2452224,
                                     feasible=True)
    front = pareto.front()
    assert [(entry['genotype'], entry['val_loss']) for entry in front] == [
        (str(POOLING), 0.9), (str(RELATIVENAS), 0.3)]
    report = pareto.hypervolume_report(front)
    points = [(0.9 / math.log(10), 15458 / 102370), (0.3 / math.log(10), 53770 / 102370)]
    expected = ((1 - points[0][0]) * (1 - points[0][1]) + (points[0][0] - points[1][0]) *
                (1 - points[1][1]))
    assert report['value'] == pytest.approx(expected)
    assert report['reference_point'] == dict(val_loss=math.log(10), params=102370)
    assert report['library'].startswith('pymoo ')
    restored = budget(cost, objectives=('val_loss', 'params'))
    restored.load_state_dict(pareto.state_dict())
    assert restored.archive == pareto.archive and restored.front() == front


def test_front_of_a_constrained_search_holds_feasible_genotypes_only(cost):
    both = budget(cost, dict(params=(0.0, 40000.0)), ('val_loss', 'params'))
    both.record(RELATIVENAS, 1, 0.1, 99.0)  # infeasible, best loss
    both.record(POOLING, 1, 0.9, 70.0)
    assert [entry['genotype'] for entry in both.front()] == [str(POOLING)]


def uniform(op):
    """Both cells with ``op`` on every edge."""
    edges = [(op, 0), (op, 1)] * 4
    return Genotype(edges, range(2, 6), edges, range(2, 6))


# 26,466, 58,914 and 75,746 params; DARTS_V1 35,058
SKIP, DIL5, SEP3 = uniform('skip_connect'), uniform('dil_conv_5x5'), uniform('sep_conv_3x3')


@pytest.mark.parametrize('bounds, estimates, pair, teacher', [
    # An infeasible all-pooling cell (15,458 params, under the low bound) with a low loss
    # dominates SKIP: measured against every estimate SKIP would add nothing and DIL5 teach;
    # on the reported (feasible) front SKIP adds more.
    (dict(params=(20000.0, 102370.0)),
     [(POOLING, 1, 0.2), (SEP3, 1, 1.5)],
     [(SKIP, 0.8), (DIL5, 0.1)], 0),
    # DARTS_V1's first estimate (loss 0.05) was replaced by its latest (2.0): measured against
    # the stale one RelativeNAS would add nothing and SKIP teach; on the reported front
    # RelativeNAS adds more.
    (None, [(get_genotype('DARTS_V1'), 1, 0.05), (get_genotype('DARTS_V1'), 2, 2.0)],
     [(SKIP, 1.0), (RELATIVENAS, 0.1)], 1),
])
def test_pairs_are_decided_on_the_reported_front(cost, bounds, estimates, pair, teacher):
    """Hypervolume contributions are measured against the entries pareto_front.yaml is chosen
    from (latest estimate per genotype, feasible only), so the teacher is the member that
    extends the reported front more."""
    searched = budget(cost, bounds, ('val_loss', 'params'))
    for genotype, generation, loss in estimates:
        searched.record(genotype, generation, loss, None)
    base = searched.hypervolume_report(searched.front())['value']

    def reported_gain(genotype, loss):
        trial = budget(cost, bounds, ('val_loss', 'params'))
        trial.load_state_dict(searched.state_dict())
        trial.record(genotype, 3, loss, None)
        return trial.hypervolume_report(trial.front())['value'] - base

    gains = [reported_gain(genotype, loss) for genotype, loss in pair]
    assert gains[teacher] > gains[1 - teacher] > 0
    assert searched.teacher([genotype for genotype, _ in pair],
                            [loss for _, loss in pair]) == teacher
    assert searched.front_candidates() == [searched.archive[-1]]
