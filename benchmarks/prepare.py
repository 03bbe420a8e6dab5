"""Per-entity cost of ``AnalysisSpec.prepare_json`` (dict and model input), old against new.

Run: ``python benchmarks/prepare.py [--before DIR] [--repeats N] [--number N]``

``--before DIR`` loads a second copy of the package from ``DIR`` (e.g. a ``git archive``
of an older commit) into the same process: it is imported first, its specs are kept,
then its modules are dropped from ``sys.modules`` and this worktree's package is
imported. Each copy builds its own model instances (the classes differ), from the same
entity dicts, and every case runs in interleaved blocks (A B C ... A B C ...) after a
warm-up, garbage collector on. The table gives the median and best block in
microseconds per entity and the ratio to ``orjson.dumps`` of the same dict.

Entities: the batch benchmark's emissions-estimates entity (``_canned_server``), and one
valid entity of each other analysis endpoint (dicts, and models made by ``coerce``).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _canned_server import request_entity  # noqa: E402

ENTITIES = 100


def _years(emissions: dict[str, Any], financials: dict[str, Any] | None) -> list[dict[str, Any]]:
    items = []
    for year in (2021, 2022, 2023):
        item: dict[str, Any] = {"year": year, "emissions": dict(emissions)}
        if financials is not None:
            item["financials"] = dict(financials)
        items.append(item)
    return items


_INFO = {"identifier": "ISIN-X", "name": "Co", "asset_type": "equity", "country": "France"}
_EMISSIONS = {"scope1": 1200.5, "scope2": 340.25, "scope3": 18000.0}
_FINANCIALS = {"currency": "EUR", "revenue": 1.5e9, "total_assets": 2e9, "ebitda": -3e7}


def other_entities() -> dict[str, dict[str, Any]]:
    """One valid entity dict per endpoint other than emissions-estimates."""
    base = {"entity_info": _INFO}
    one_year = [{"year": 2023, "emissions": dict(_EMISSIONS), "financials": dict(_FINANCIALS)}]
    projected = [{"year": year, "emissions": dict(_EMISSIONS)} for year in (2030, 2040, 2050)]
    return {
        "climate-risk": {
            **base,
            "data": _years(_EMISSIONS, None),
            "scenarios": ["ngfs_net_zero", "ipcc_two_degree"],
        },
        "temperature-alignment": {**base, "data": _years(_EMISSIONS, _FINANCIALS)},
        "emissions-projections": {
            **base,
            "data": _years(_EMISSIONS, _FINANCIALS),
            "method": "monte_carlo",
            "projection_years": [2030, 2040],
            "targets": [{"baseline_year": 2021, "target_year": 2030, "reduction": 0.42}],
        },
        "climate-risk-projections": {
            **base,
            "data": one_year,
            "projections": projected,
            "scenarios": ["ngfs_net_zero"],
        },
        "temperature-alignment-projections": {
            **base,
            "data": one_year,
            "projected_emissions": projected,
        },
        "company-ranking": {**base, "data": _years(_EMISSIONS, _FINANCIALS)},
    }


def load(before: str | None) -> dict[str, Any]:
    """``{"old": models module, "new": models module}`` (``old`` only with ``before``)."""
    found: dict[str, Any] = {}
    if before is not None:
        sys.path.insert(0, before)
        found["old"] = importlib.import_module("emmi_async.models")
        sys.path.remove(before)
        for name in [name for name in sys.modules if name.split(".")[0] == "emmi_async"]:
            del sys.modules[name]
    found["new"] = importlib.import_module("emmi_async.models")
    if before is not None:
        assert found["new"].__file__ != found["old"].__file__, "the same package twice"
    return found


def cases(versions: dict[str, Any], endpoints: bool) -> dict[str, Callable[[], object]]:
    """The timed callables, each preparing 100 entities one by one."""
    dicts = [request_entity(index) for index in range(ENTITIES)]
    result: dict[str, Callable[[], object]] = {
        "baseline: orjson.dumps(dict)": lambda: [orjson.dumps(obj) for obj in dicts]
    }
    work: list[tuple[str, str, list[dict[str, Any]]]] = [("emissions-estimates", "", dicts)]
    if endpoints:
        for name, entity in other_entities().items():
            work.append((name, f" {name}", [entity] * ENTITIES))
    for label, models in versions.items():
        for name, suffix, inputs in work:
            spec = models.ANALYSES[name]
            instances = [spec.coerce(obj, index) for index, obj in enumerate(inputs)]
            expected = [spec.encode([e])[1:-1] for e in instances]
            for given in (inputs, instances):
                got = [spec.prepare_json(o, i) for i, o in enumerate(given)]
                assert got == expected, f"{label} {name}: prepare_json must give encode's bytes"
            prepare = spec.prepare_json
            result[f"{label}: prepare_json dict{suffix}"] = lambda p=prepare, x=inputs: [
                p(o, i) for i, o in enumerate(x)
            ]
            result[f"{label}: prepare_json model{suffix}"] = lambda p=prepare, x=instances: [
                p(o, i) for i, o in enumerate(x)
            ]
    return result


def measure(
    timed: dict[str, Callable[[], object]], repeats: int, number: int
) -> dict[str, list[float]]:
    """Microseconds per entity of each case, one figure per interleaved block (GC on)."""
    for case in timed.values():
        for _ in range(number):
            case()
    figures: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(repeats):
        for name, case in timed.items():
            gc.collect()
            start = time.process_time_ns()
            for _ in range(number):
                case()
            elapsed = time.process_time_ns() - start
            figures[name].append(elapsed / 1000 / number / ENTITIES)
    return figures


def table(figures: dict[str, list[float]]) -> str:
    """A Markdown table: median, best and range per case, and the ratio to orjson."""
    base = statistics.median(figures["baseline: orjson.dumps(dict)"])
    lines = [
        "| case | median µs/entity | best | worst | x orjson.dumps |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, values in figures.items():
        median = statistics.median(values)
        low, high = min(values), max(values)
        lines.append(f"| {name} | {median:.2f} | {low:.2f} | {high:.2f} | {median / base:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="directory holding an older emmi_async to compare")
    parser.add_argument("--repeats", type=int, default=15, help="interleaved blocks per case")
    parser.add_argument("--number", type=int, default=20, help="calls of 100 entities per block")
    parser.add_argument("--endpoints", action="store_true", help="every endpoint, not one")
    args = parser.parse_args(argv)
    versions = load(args.before)
    figures = measure(cases(versions, args.endpoints), args.repeats, args.number)
    print(
        f"Python {sys.version.split()[0]}, {args.repeats} blocks x {args.number} x "
        f"{ENTITIES} entities, process CPU, gc on"
    )
    print(table(figures))


if __name__ == "__main__":
    main()
