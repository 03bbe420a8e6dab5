"""Static checks of the blocking facade's types, run by ``test_typing.py`` under mypy --strict.

Not a test module (pytest does not collect it) and never run: mypy reads it. Each
``assert_type`` must hold exactly; each ``type: ignore[code]`` must still be needed
(``--strict`` warns about unused ignores), so a facade that loses its types fails.
"""

from __future__ import annotations

from collections.abc import Iterator

from typing_extensions import assert_type

from emmi_async import BatchReport, BatchStats, Emmi, Outcome, RawResponse, ResultList, models
from emmi_async.sync import (
    SyncBatchRunner,
    SyncCustomersResource,
    SyncEmissionsResource,
    SyncOutcomeStream,
)


def calls(client: Emmi) -> None:
    entity = {"entity_info": {"identifier": "x"}, "data": []}
    assert_type(client.emissions, SyncEmissionsResource)
    assert_type(client.emissions.estimate([entity]), ResultList[models.EmissionsEstimateResult])
    assert_type(client.emissions.project(entity), ResultList[models.EmissionsProjectionResult])
    assert_type(client.climate_risk.assess([entity]), ResultList[models.ClimateRiskResult])
    assert_type(
        client.temperature_alignment.project([entity]),
        ResultList[models.TemperatureAlignmentProjectionResult],
    )
    assert_type(client.rankings.rank([entity]), ResultList[models.CompanyRankingResult])
    assert_type(client.hazards.get(latitude=1.0, longitude=2.0), models.HazardRisk)
    assert_type(client.service.health(), models.Health)
    assert_type(client.usage.get(start="2024-01-01", end="2024-12-31"), models.Usage)
    assert_type(client.customers, SyncCustomersResource)
    assert_type(client.customers.create(external_id="a"), models.Customer)
    assert_type(client.customers.list(limit=10), Iterator[models.Customer])
    for customer in client.customers.list():
        assert_type(customer, models.Customer)
    assert_type(client.emissions.estimate([entity]).request_id, str | None)
    raw = client.emissions.with_raw_response.estimate([entity])
    assert_type(raw, RawResponse[ResultList[models.EmissionsEstimateResult]])
    assert_type(raw.parse(), ResultList[models.EmissionsEstimateResult])
    assert_type(raw.request_id, str | None)
    page = client.customers.with_raw_response.list(limit=10)
    assert_type(page.parse(), models.CustomerPage)
    assert_type(client.service.with_raw_response.health().parse(), models.Health)
    client.emissions.estimate(entities=[entity], retries=3)  # type: ignore[call-arg]
    client.hazards.get(1.0, 2.0)  # type: ignore[call-arg]


def views(client: Emmi) -> None:
    assert_type(client.for_customer("3f1c0c8e-0000-4000-8000-000000000000"), Emmi)
    assert_type(client.for_end_user("acme_1"), Emmi)
    assert_type(client.with_options(max_retries=0, timeout=5.0), Emmi)
    assert_type(client.is_closed, bool)
    client.with_options(retries=0)  # type: ignore[call-arg]


def batches(client: Emmi) -> None:
    runner = client.batch(client.emissions.estimate, max_concurrency=8)
    assert_type(runner, SyncBatchRunner[models.EmissionsEstimateResult])
    report = runner.run([{"entity_info": {}}])
    assert_type(report, BatchReport[models.EmissionsEstimateResult])
    assert_type(report.results, list[models.EmissionsEstimateResult | None])
    assert_type(runner.stats, BatchStats | None)
    stream = runner.stream(iter([]), ordered=True)
    assert_type(stream, SyncOutcomeStream[models.EmissionsEstimateResult])
    with stream as outcomes:
        assert_type(outcomes, SyncOutcomeStream[models.EmissionsEstimateResult])
        for outcome in outcomes:
            assert_type(outcome, Outcome[models.EmissionsEstimateResult])
            assert_type(outcome.result, models.EmissionsEstimateResult | None)
            if outcome.ok:  # the idiom: unwrap() gives the result, typed, once ok
                assert_type(outcome.unwrap(), models.EmissionsEstimateResult)
    assert_type(next(stream), Outcome[models.EmissionsEstimateResult])
    hazards = client.batch(client.hazards.get)
    assert_type(hazards, SyncBatchRunner[models.HazardRisk])
    assert_type(hazards.run([]).outcomes, list[Outcome[models.HazardRisk]])
    client.batch(client.emissions.estimate, max_concurrency="8")  # type: ignore[call-overload]


def lifecycle() -> None:
    with Emmi(api_key="emmi_sk_test") as client:
        assert_type(client, Emmi)
    assert_type(client.close(), None)
    assert_type(Emmi.from_async(client._async), Emmi)
