"""Unknown config keys as one error with the closest spelling (every layer checks its configs)."""
import difflib
from typing import Iterable, Sequence

__all__ = ['check_unknown_keys']


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
