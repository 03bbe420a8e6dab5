"""Portfolio runs on a Dask cluster (extra ``dask``): one budget and one pause for all.

:func:`batch` maps ``run_frame`` over the partitions of a Dask DataFrame, lazily. Each
worker process keeps one blocking client (its own event-loop thread), reused by every
partition it runs and closed when the worker stops. With a ``distributed`` client, the
run's ``max_concurrency`` is a budget for the whole cluster (``distributed.Semaphore``
leases) and a 429 seen by one worker pauses them all (``distributed.Variable``). See the
README's "Beyond one machine".

A worker lost mid-run is survived: Dask runs its partitions again elsewhere, and the
output still holds exactly one status per entity, but the API saw (and the usage counts)
the chunks that the lost worker had sent already.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

try:
    import dask.dataframe as dd
    import distributed
except ImportError as _missing:  # pragma: no cover - depends on the environment
    raise ImportError(
        "Dask runs need the 'dask' extra: pip install 'emmi-async[dask]'"
    ) from _missing

from emmi_async.dask._gate import DaskGate, GateSpec
from emmi_async.dask._partition import Partitioning, StraddlingEntityError, arrange, check
from emmi_async.dask._settings import ClientSettings, Secret
from emmi_async.dask._worker import ClientsPlugin, PartitionTask
from emmi_async.frames import empty_result
from emmi_async.resources._methods import ANALYSIS_METHODS

__all__ = ["DaskGate", "GateSpec", "Secret", "StraddlingEntityError", "batch", "result_meta"]


def result_meta(operation: str, *, extra: bool = False) -> Any:
    """The empty pandas frame :func:`batch` declares as its ``meta``: the columns of
    ``run_frame`` for ``operation``, with pyarrow-backed pandas dtypes (nullable, so a
    partition with failed rows has the same dtypes as one without).

    Args:
        operation: an analysis endpoint's name.
        extra: whether the ``extra`` column is there.
    """
    return empty_result(operation, extra=extra).to_pandas(use_pyarrow_extension_array=True)


def batch(
    frame: dd.DataFrame,
    operation: str,
    *,
    api_key: str | None = None,
    customer_id: str | uuid.UUID | None = None,
    end_user_id: str | None = None,
    base_url: str | None = None,
    timeout: float | None = None,
    chunk_size: int | None = None,
    max_concurrency: int | None = None,
    min_concurrency: int = 1,
    adaptive: bool = True,
    max_attempts: int = 6,
    retry_budget: float = 0.2,
    max_retry_after: float = 600.0,
    deadline: float | None = None,
    scenarios: Sequence[str] | None = None,
    method: str | None = None,
    projection_years: Sequence[int] | None = None,
    targets: Sequence[Mapping[str, Any]] | None = None,
    extra: bool = False,
    partitioning: Partitioning = "check",
    cluster_budget: bool = True,
    client: distributed.Client | None = None,
) -> dd.DataFrame:
    """The results of ``operation`` over a portfolio Dask DataFrame: lazy, one task per
    partition, the columns of ``run_frame`` (see :func:`result_meta`).

    Each partition is one ``run_frame`` on its worker (see :meth:`BatchRunner.run_frame
    <emmi_async.BatchRunner.run_frame>` for rows in and out); its rows come out in input
    order, partition after partition. Entities must not straddle partitions.

    Args:
        frame: one row per entity-year in the columns of
            :data:`emmi_async.frames.INPUT_COLUMNS`.
        operation: the endpoint's name, as ``emmi estimate --operation`` takes it
            (``"emissions-estimates"``, ``"climate-risk"``...).
        api_key: the key; ``None``: ``EMMI_API_KEY`` on each worker. It travels to the
            workers pickled, and shows as ``***`` in the task graph, dashboard and logs.
        customer_id: account keys: the customer (else ``EMMI_CUSTOMER_ID`` on workers).
        end_user_id: multi-tenant keys: the end user (else ``EMMI_END_USER_ID``).
        base_url: the API's base URL (else ``EMMI_BASE_URL`` on workers, else default).
        timeout: seconds per request (default: the client's).
        chunk_size: entities per request (default and maximum: the endpoint's limit).
        max_concurrency: most requests in flight at once across the whole cluster when
            ``cluster_budget`` holds (default 64); else per partition task.
        min_concurrency: the adaptive limit of each worker never drops below this.
        adaptive: whether each worker's limit halves on trouble and creeps back.
        max_attempts: requests that may carry one chunk before its entities fail.
        retry_budget: retries per request sent, per partition, beyond ten free ones.
        max_retry_after: the longest server-asked pause (seconds) honoured.
        deadline: seconds from the start of each partition's run.
        scenarios: the endpoint's scenarios (climate risk).
        method: the projection method (emissions projections).
        projection_years: the years to project (emissions projections).
        targets: the targets (emissions projections).
        extra: keep unknown response fields as JSON text in an ``extra`` column.
        partitioning: ``"check"`` (default): read the identifier column once now and
            raise :class:`StraddlingEntityError` naming an identifier found in two
            partitions; ``"arrange"``: shuffle by identifier (lazy; input order is lost);
            ``"trust"``: neither.
        cluster_budget: share ``max_concurrency`` and 429 pauses across the cluster
            (needs a ``distributed`` client; without one, each task has its own limits).
        client: the ``distributed`` client (default: the current one, if any).

    Raises:
        ValueError: an unknown ``operation`` or ``partitioning``.
        StraddlingEntityError: with ``partitioning="check"``, rows of one identifier in
            two partitions.
    """
    if operation not in ANALYSIS_METHODS:
        known = ", ".join(ANALYSIS_METHODS)
        raise ValueError(f"unknown operation {operation!r}: use one of {known}")
    budget = max_concurrency or 64
    if client is None:
        try:
            client = distributed.default_client()
        except ValueError:
            client = None
    gate: GateSpec | None = None
    if client is not None:
        # Idempotent: registering again would tear the first down (closing clients in use).
        client.register_plugin(ClientsPlugin(), name=ClientsPlugin.name)
        if cluster_budget:
            gate = GateSpec(f"emmi-{operation}-{uuid.uuid4().hex}", budget)
            distributed.Variable(gate.name + "-pause", client=client).set(0.0)
    if partitioning == "arrange":
        frame = arrange(frame)
    elif partitioning == "check":
        check(frame)
    elif partitioning != "trust":
        raise ValueError(
            f"partitioning must be 'check', 'arrange' or 'trust', not {partitioning!r}"
        )
    settings = ClientSettings(
        api_key=None if api_key is None else Secret(api_key),
        customer_id=None if customer_id is None else str(customer_id),
        end_user_id=end_user_id,
        base_url=base_url,
        timeout=timeout,
        max_connections=budget,
    )
    runner_options: dict[str, Any] = {
        "chunk_size": chunk_size,
        "max_concurrency": budget,
        "min_concurrency": min_concurrency,
        "adaptive": adaptive,
        "max_attempts": max_attempts,
        "retry_budget": retry_budget,
        "max_retry_after": max_retry_after,
        "deadline": deadline,
    }
    frame_options: dict[str, Any] = {
        "scenarios": None if scenarios is None else list(scenarios),
        "method": method,
        "projection_years": None if projection_years is None else list(projection_years),
        "targets": None if targets is None else [dict(target) for target in targets],
        "extra": extra,
    }
    task = PartitionTask(operation, settings, gate, runner_options, frame_options)
    # An explicit token: Dask would otherwise hash the arguments (the key among them)
    # into the task names.
    token = f"emmi-{operation}-{uuid.uuid4().hex[:12]}"
    return frame.map_partitions(
        task,
        meta=result_meta(operation, extra=extra),
        token=token,
        enforce_metadata=False,
        align_dataframes=False,
    )
