"""Config checks every layer shares: unknown keys as one error with the closest spelling, and
numbers in a range."""
import difflib
import math
from typing import Any, Iterable, Sequence

__all__ = ['check_unknown_keys', 'check_number']


def check_unknown_keys(where: str, given: Iterable[str], known: Sequence[str]) -> None:
    """Raise one ValueError naming every key of ``given`` not in ``known``, with the closest
    known spelling where there is one (``populaton_size`` -> ``population_size``).

    Args:
        where (str): What the keys belong to, the start of the message
            (``'train_cfg.constraints'``).
        given (Iterable[str]): The keys the config has.
        known (Sequence[str]): The keys it takes, in the order the message lists them.
    """
    unknown = [key for key in given if key not in known]
    if not unknown:
        return
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1)
        hints.append(f'{key!r} (did you mean {close[0]!r}?)' if close else repr(key))
    raise ValueError(f'{where}: unknown key(s) {", ".join(hints)}; it takes '
                     f'{", ".join(known)}')


def check_number(name: str, value: Any, low: float, high: float = math.inf,
                 high_open: bool = False) -> None:
    """Raise a ValueError unless ``value`` is a finite real number (not a bool) in
    ``[low, high]``, or ``[low, high)`` if ``high_open``.

    Args:
        name (str): The setting, the start of the message (``'train_dataloader.train_portion'``).
        value: Its value.
        low (float): The smallest value allowed.
        high (float): The largest value allowed (or its bound, with ``high_open``).
        high_open (bool): Exclude ``high``.
    """
    valid = (isinstance(value, (int, float)) and not isinstance(value, bool)
             and math.isfinite(value) and value >= low
             and (value < high if high_open else value <= high))
    if not valid:
        bounds = f'[{low:g}, {high:g}{")" if high_open else "]"}'
        raise ValueError(f'{name} must be a finite number in {bounds}, got {value!r}')
