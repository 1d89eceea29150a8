"""Past one machine: profiles, scores and the dual allocation on a Dask cluster.

An outer shell over the public API (optional extra ``dask``: ``pip install
'onetoone[dask]'``; Dask is imported inside the functions that need it). The log
is hash-partitioned by customer, so each customer's whole history lives in one
partition; every partition then runs the single-machine code as a plain
function of Arrow / numpy data, and results equal the one-machine results.

- Per-partition kernels, no Dask in them (call them from Spark's ``mapInArrow``
  too): :func:`profile_partition`, :func:`score_partition`,
  :func:`candidate_block` + :func:`dual_step` (-> :class:`StepSummary`).
- Dask adapters: :func:`partition_by_customer`, :func:`check_partitioned`,
  :func:`build_profiles` (-> :class:`DistributedProfiles`),
  :func:`score_offers` (the model broadcast once), :func:`allocate` (the
  Lagrangian dual; only per-budget and per-cap usage reduced each iteration;
  the candidate blocks in the workers' memory or, ``storage="disk"``, out of
  core on their disks; -> :class:`DistributedAllocation`).

See ``docs/scale.md``.

Examples
--------
>>> from onetoone.distributed import dual_step, profile_partition
>>> callable(dual_step) and callable(profile_partition)
True
"""

from onetoone.distributed._dask import (
    DistributedAllocation,
    DistributedProfiles,
    allocate,
    build_profiles,
    check_partitioned,
    partition_by_customer,
    score_offers,
)
from onetoone.distributed._kernels import (
    CandidateBlock,
    StepSummary,
    candidate_block,
    dual_step,
    profile_partition,
    score_partition,
)

__all__ = [
    "CandidateBlock",
    "DistributedAllocation",
    "DistributedProfiles",
    "StepSummary",
    "allocate",
    "build_profiles",
    "candidate_block",
    "check_partitioned",
    "dual_step",
    "partition_by_customer",
    "profile_partition",
    "score_offers",
    "score_partition",
]
