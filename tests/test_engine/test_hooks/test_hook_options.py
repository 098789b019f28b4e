"""Every option of mmrnas's hooks is checked when the hook is built (not when it first runs,
after a whole search): one ValueError naming the option, the bad value and what it takes."""
import pytest
from mmengine.registry import DefaultScope

from mmrnas.engine import DropPathScheduleHook, GenotypeDumpHook, SearchPlotHook
from mmrnas.engine.search_preflight import build_custom_hooks


@pytest.mark.parametrize('hook, options, message', [
    (GenotypeDumpHook, dict(formats=('png', 'jpg')),
     "GenotypeDumpHook: formats=('png', 'jpg') are not drawing formats; it takes a non-empty "
     "list out of png, svg, pdf, e.g. ('png', 'svg')"),
    (GenotypeDumpHook, dict(formats=()),
     'GenotypeDumpHook: formats=() are not drawing formats; it takes a non-empty list out of '
     "png, svg, pdf, e.g. ('png', 'svg')"),
    (GenotypeDumpHook, dict(formats='jpg'),
     "GenotypeDumpHook: formats='jpg' are not drawing formats; it takes a non-empty list out "
     "of png, svg, pdf, e.g. ('png', 'svg')"),
    (GenotypeDumpHook, dict(draw='yes'),
     "GenotypeDumpHook: draw='yes' is not a switch; it takes True or False"),
    (SearchPlotHook, dict(filename='progress.jpg'),
     "SearchPlotHook: filename='progress.jpg' is not a PNG file in work_dir; it takes a "
     "relative path ending in '.png', e.g. 'search_progress.png'"),
    (SearchPlotHook, dict(filename='/tmp/progress.png'),
     "SearchPlotHook: filename='/tmp/progress.png' is not a PNG file in work_dir; it takes a "
     "relative path ending in '.png', e.g. 'search_progress.png'"),
    (DropPathScheduleHook, dict(max_rate='0.3'),
     "DropPathScheduleHook: max_rate='0.3' is not a drop-path probability; it takes a number "
     'in [0, 1), e.g. 0.3'),
    (DropPathScheduleHook, dict(max_rate=1.0),
     'DropPathScheduleHook: max_rate=1.0 is not a drop-path probability; it takes a number in '
     '[0, 1), e.g. 0.3'),
    (DropPathScheduleHook, dict(max_epochs=2.5),
     'DropPathScheduleHook: max_epochs=2.5 is not a number of epochs; it takes a positive '
     "integer, or None for the runner's max_epochs"),
])
def test_a_bad_option_fails_when_the_hook_is_built(hook, options, message):
    with pytest.raises(ValueError) as error:
        hook(**options)
    assert str(error.value) == message


def test_good_options_are_kept():
    assert GenotypeDumpHook(formats='pdf').formats == ('pdf', )
    assert GenotypeDumpHook(draw=False, formats=['png', 'svg', 'pdf']).formats == ('png', 'svg',
                                                                                    'pdf')
    assert SearchPlotHook(filename='plots/progress.png').filename == 'plots/progress.png'
    hook = DropPathScheduleHook(max_rate=0, max_epochs=3)
    assert (hook.max_rate, hook.max_epochs) == (0, 3)


@pytest.mark.parametrize('hooks, message', [
    ([dict(type='SearchPlotHook'), dict(type='GenotypeDumpHook', formats=['jpg'])],
     "custom_hooks[1] could not be built: ValueError: GenotypeDumpHook: formats=['jpg'] are not "
     "drawing formats; it takes a non-empty list out of png, svg, pdf, e.g. ('png', 'svg')"),
    ([dict(type='GenotypeDumpHook', format=['pdf'])],
     "custom_hooks[0] could not be built: TypeError: GenotypeDumpHook.__init__() got an "
     "unexpected keyword argument 'format'"),
    ([dict(type='GenotypeDumpHook', priority='SOMETIMES')],
     "custom_hooks[0] could not be built: KeyError: 'SOMETIMES'"),
    ([dict(type='SearchPlotHok')],
     "custom_hooks[0] could not be built: KeyError: 'SearchPlotHok is not in the mmrnas::hook "
     'registry.'),
    # MMEngine's hooks check their arguments with assert: the same one line, not a traceback.
    ([dict(type='EMAHook', begin_iter=1, begin_epoch=1)],
     'custom_hooks[0] could not be built: AssertionError: `begin_iter` and `begin_epoch` should '
     'not be both set.'),
    # An assert without a message: the hook and its arguments are named.
    ([dict(type='CheckpointHook', interval=1, greater_keys=[1])],
     'custom_hooks[0] could not be built: AssertionError: CheckpointHook refused its arguments '
     '(interval=1, greater_keys=[1])'),
])
def test_custom_hooks_are_built_in_the_preflight(hooks, message):
    with DefaultScope.overwrite_default_scope('mmrnas'):
        build_custom_hooks([dict(type='GenotypeDumpHook', priority='LOW'), SearchPlotHook()])
        with pytest.raises(ValueError) as error:
            build_custom_hooks(hooks)
    assert str(error.value).startswith(message) and '\n' not in str(error.value)


def test_a_hook_that_needs_a_missing_package_is_one_line(monkeypatch):
    class Hooks:
        def build(self, cfg):
            raise ImportError('Please run "pip install tensorboard" to use ProfilerHook')

    monkeypatch.setattr('mmrnas.engine.search_preflight.HOOKS', Hooks())
    with pytest.raises(ValueError) as error:
        build_custom_hooks([dict(type='ProfilerHook')])
    assert str(error.value) == ('custom_hooks[0] could not be built: ImportError: Please run '
                                '"pip install tensorboard" to use ProfilerHook')
