"""Per-entity cost of the model layer against plain orjson and stdlib json.

Run: ``python benchmarks/models.py`` (``--repeats``, ``--number`` to change the effort).

Workloads, each on 100 entities (one request or one response):

- request from dicts: ``spec.coerce`` + ``spec.problems`` per entity + ``spec.encode``
- request from models: the same with model instances as input
- ``prepare_json`` from dicts / models: what the batch runner calls per entity now (fast
  path for valid plain dicts; the model path otherwise)
- response decode: ``spec.decode(bytes)`` into result models (generated structurers),
  and the converter alone (``orjson.loads`` + cattrs hooks, the path before)
- the baselines: ``orjson.dumps``/``json.dumps`` of the dicts, ``orjson.loads``/``json.loads``
  of the response bytes (what a dict-only client would pay)

Every workload runs in one process, in interleaved blocks (A B C ... A B C ...), after a
warm-up; the table shows the median and the best block, in microseconds per entity.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from emmi_async import models

ENTITIES = 100
YEARS = (2021, 2022, 2023)


def request_dict(index: int) -> dict[str, Any]:
    """An equity entity with three years of emissions and financials (~0.9 KB of JSON)."""
    return {
        "entity_info": {
            "identifier": f"ISIN{index:08d}",
            "name": f"Company {index}",
            "asset_type": "equity",
            "country": "United States",
            "industry_classification_system": "rbics",
            "industry": "Software",
            "sector": "Technology",
        },
        "data": [
            {
                "year": year,
                "emissions": {"scope1": 1200.5 + index, "scope2": 340.25},
                "financials": {
                    "currency": "USD",
                    "revenue": 1.5e9 + year,
                    "total_assets": 2.1e9,
                    "ebitda": 3.2e8,
                    "total_debt": 4.0e8,
                },
            }
            for year in YEARS
        ],
    }


def estimate_result(index: int) -> dict[str, Any]:
    """One ``/emissions-estimates`` result as the reference contract shapes it."""
    return {
        "entity_info": {
            "name": f"Company {index}",
            "asset_type": "equity",
            "country": "United States",
            "industry_classification_system": "rbics",
            "industry": "Software",
            "sector": "Technology",
        },
        "data": [
            {
                "year": year,
                "emissions": {"scope1": 1200.5, "scope2": 340.25, "scope3": 18250.0},
                "estimated": ["scope3"],
                "data_quality_score": 3,
            }
            for year in YEARS
        ],
    }


def climate_risk_result(index: int) -> dict[str, Any]:
    """One ``/climate-risk`` result: three years by five scenarios."""
    scenarios = [
        models.Scenario.IPCC_NET_ZERO,
        models.Scenario.IPCC_TWO_DEGREE,
        models.Scenario.IPCC_FOUR_DEGREE,
        models.Scenario.NGFS_NET_ZERO,
        models.Scenario.NGFS_BELOW_TWO_DEGREE,
    ]
    return {
        "entity_info": {"name": f"Company {index}", "asset_type": "equity"},
        "data": [
            {
                "year": year,
                "scenarios": [
                    {
                        "scenario": scenario,
                        "transition_risk": {
                            "potential_carbon_liability": 1.25e6 + index,
                            "pcl_to_value": 0.0125,
                        },
                        "physical_risk": {"average_annual_loss": 0.0042},
                    }
                    for scenario in scenarios
                ],
            }
            for year in YEARS
        ],
    }


def workloads() -> dict[str, Callable[[], object]]:
    """The timed callables, each doing one 100-entity request or response."""
    spec = models.EMISSIONS_ESTIMATES
    dicts = [request_dict(i) for i in range(ENTITIES)]
    instances = spec.prepare(dicts)
    estimates = orjson.dumps({"results": [estimate_result(i) for i in range(ENTITIES)]})
    risks = orjson.dumps({"results": [climate_risk_result(i) for i in range(ENTITIES)]})
    assert spec.encode(instances) == orjson.dumps(dicts), "encode must reproduce the input"

    def from_dicts() -> bytes:
        entities = []
        for index, obj in enumerate(dicts):
            entity = spec.coerce(obj, index)
            if spec.problems(entity, index):
                raise AssertionError("benchmark input must be valid")
            entities.append(entity)
        return spec.encode(entities)

    def from_models() -> bytes:
        entities = []
        for index, obj in enumerate(instances):
            entity = spec.coerce(obj, index)
            if spec.problems(entity, index):
                raise AssertionError("benchmark input must be valid")
            entities.append(entity)
        return spec.encode(entities)

    structure = models.converter.get_structure_hook(spec.result_type)
    risk_structure = models.converter.get_structure_hook(models.CLIMATE_RISK.result_type)

    def converter_decode(payload: bytes, hook: Callable[[Any, Any], Any], cls: type) -> object:
        return [hook(result, cls) for result in orjson.loads(payload)["results"]]

    assert spec.decode(estimates) == converter_decode(estimates, structure, spec.result_type)
    assert [spec.prepare_json(o, i) for i, o in enumerate(dicts)] == [
        orjson.dumps(o) for o in dicts
    ]

    return {
        "prepare_json from dicts (fast path)": lambda: [
            spec.prepare_json(o, i) for i, o in enumerate(dicts)
        ],
        "prepare_json from models": lambda: [
            spec.prepare_json(o, i) for i, o in enumerate(instances)
        ],
        "request from dicts: coerce+problems+encode": from_dicts,
        "request from models: coerce+problems+encode": from_models,
        "  of which coerce (dicts)": lambda: [spec.coerce(o, i) for i, o in enumerate(dicts)],
        "  of which problems": lambda: [spec.problems(e, i) for i, e in enumerate(instances)],
        "  of which encode": lambda: spec.encode(instances),
        "baseline request: orjson.dumps(dicts)": lambda: orjson.dumps(dicts),
        "baseline request: json.dumps(dicts)": lambda: json.dumps(dicts).encode(),
        "response decode: estimates -> models": lambda: spec.decode(estimates),
        "response converter (before): estimates -> models": lambda: converter_decode(
            estimates, structure, spec.result_type
        ),
        "baseline response: orjson.loads(estimates)": lambda: orjson.loads(estimates),
        "baseline response: json.loads(estimates)": lambda: json.loads(estimates),
        "response decode: climate-risk -> models": lambda: models.CLIMATE_RISK.decode(risks),
        "response converter (before): climate-risk -> models": lambda: converter_decode(
            risks, risk_structure, models.CLIMATE_RISK.result_type
        ),
        "baseline response: orjson.loads(climate-risk)": lambda: orjson.loads(risks),
        "baseline response: json.loads(climate-risk)": lambda: json.loads(risks),
    }


def measure(
    cases: dict[str, Callable[[], object]], repeats: int, number: int, *, gc_on: bool = True
) -> dict[str, list[float]]:
    """Microseconds per entity of each case, one figure per interleaved block.

    The garbage collector stays on unless ``gc_on`` is false (``timeit`` turns it off; a
    real client cannot, and the model layer allocates a lot of small objects).
    """
    for case in cases.values():  # warm-up: hooks built, caches filled
        for _ in range(number):
            case()
    figures: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, case in cases.items():
            gc.collect()
            if not gc_on:
                gc.disable()
            start = time.perf_counter_ns()
            for _ in range(number):
                case()
            elapsed = time.perf_counter_ns() - start
            gc.enable()
            figures[name].append(elapsed / 1000 / number / ENTITIES)
    return figures


def table(figures: dict[str, list[float]]) -> str:
    """A Markdown table: median and best µs per entity, and the ratio to orjson's baseline."""
    medians = {name: statistics.median(values) for name, values in figures.items()}
    baseline = {
        "request": medians["baseline request: orjson.dumps(dicts)"],
        "estimates": medians["baseline response: orjson.loads(estimates)"],
        "climate-risk": medians["baseline response: orjson.loads(climate-risk)"],
    }
    lines = [
        "| workload (100 entities) | median µs/entity | best µs/entity | x orjson baseline |",
        "|---|---:|---:|---:|",
    ]
    for name, values in figures.items():
        kind = "climate-risk" if "climate-risk" in name else "estimates"
        request = "request" in name or "of which" in name or "prepare" in name
        kind = "request" if request else kind
        ratio = medians[name] / baseline[kind]
        lines.append(f"| {name} | {medians[name]:.2f} | {min(values):.2f} | {ratio:.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved blocks per case")
    parser.add_argument("--number", type=int, default=20, help="calls per block")
    parser.add_argument("--no-gc", action="store_true", help="disable gc while timing")
    args = parser.parse_args(argv)
    figures = measure(workloads(), args.repeats, args.number, gc_on=not args.no_gc)
    gc_state = "gc off" if args.no_gc else "gc on"
    print(
        f"Python {sys.version.split()[0]}, {args.repeats} blocks x {args.number} calls, {gc_state}"
    )
    print(table(figures))


if __name__ == "__main__":
    main()
