"""Per-generation lr and drop-path values (docs/reference.md §4.2: the table obtained by
running the reference code as is, CHK in §0)."""
import pytest

from mmrnas.search.schedules import search_drop_path_rate, search_lr


@pytest.mark.parametrize('generation, closed_form, reference', [
    (0, 0.1, 0.1),
    (1, 0.099902, 0.099805),
    (10, 0.090546, 0.088832),
    (25, 0.050500, 0.047576),
    (40, 0.010454, 0.008868),
    (49, 0.001098, 0.001024),
])
def test_cosine_lr_and_reference_quirk(generation, closed_form, reference):
    assert search_lr(generation, 50, 0.1, 0.001) == pytest.approx(closed_form, abs=5e-7)
    assert search_lr(generation, 50, 0.1, 0.001, reference_quirk=True) == pytest.approx(
        reference, abs=5e-7)


def test_drop_path():
    assert search_drop_path_rate(0, 50, 0.3) == 0
    assert search_drop_path_rate(25, 50, 0.3) == pytest.approx(0.15)
    assert search_drop_path_rate(49, 50, 0.3) == pytest.approx(0.294)
