"""The one randomness convention: ``random_state`` -> ``numpy.random.Generator``."""

from __future__ import annotations

import numpy as np

from onetoone.errors import ValidationError

RandomState = int | np.random.Generator | None


def check_random_state(random_state: RandomState) -> np.random.Generator:
    """Turn ``random_state`` into a :class:`numpy.random.Generator`.

    ``None`` gives fresh OS entropy, an ``int`` a seeded generator, and a
    ``Generator`` is returned as is (so callers can share one stream).
    """
    if random_state is None or isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state)
    if isinstance(random_state, bool):
        raise ValidationError("random_state must be an int, not a bool", field="random_state")
    if isinstance(random_state, (int, np.integer)):
        if random_state < 0:
            raise ValidationError(
                f"random_state must be a non-negative int, got {random_state}",
                field="random_state",
            )
        return np.random.default_rng(int(random_state))
    raise ValidationError(
        "random_state must be an int, a numpy.random.Generator or None, "
        f"got {type(random_state).__name__}",
        field="random_state",
    )
