"""What the research bench uses of the library's shared infrastructure, in one place.

The bench imports only public names of the stages; these helpers are the library's
own root-level infrastructure (validation, randomness), not another stage's privates.
"""

from onetoone._arrays import (
    TimeLike,
    as_1d,
    as_float,
    check_nonempty,
    readonly,
    to_datetime64,
)
from onetoone._checks import (
    check_alpha,
    check_int,
    check_num_threads,
    check_real,
    check_same_length,
    is_int,
    is_real,
)
from onetoone._random import RandomState, check_random_state

__all__ = [
    "RandomState",
    "TimeLike",
    "as_1d",
    "as_float",
    "check_alpha",
    "check_int",
    "check_nonempty",
    "check_num_threads",
    "check_random_state",
    "check_real",
    "check_same_length",
    "is_int",
    "is_real",
    "readonly",
    "to_datetime64",
]
