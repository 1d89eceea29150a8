"""Deprecated: renamed :mod:`onetoone.bench` (removed in the next minor version).

Importing this module emits a :class:`~onetoone.errors.OneToOneDeprecationWarning`;
every name resolves to the same object in :mod:`onetoone.bench`. Migrate with
``from onetoone.bench import ...``. ``OffPolicyEstimate`` is the old result type of
the off-policy estimators, which now return :class:`onetoone.measurement.Estimate`.
"""

from onetoone import bench as _bench
from onetoone._deprecation import warn_deprecated
from onetoone.bench._ope import OffPolicyEstimate as OffPolicyEstimate

# Every public name of onetoone.bench, the same objects (the list cannot drift from it).
globals().update({name: getattr(_bench, name) for name in _bench.__all__})
__all__ = sorted([*_bench.__all__, "OffPolicyEstimate"])

warn_deprecated(
    "onetoone.strategies is renamed onetoone.bench: use `from onetoone.bench import ...`",
    stacklevel=3,
)
