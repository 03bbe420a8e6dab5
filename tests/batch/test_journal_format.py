"""The journal's lines: one per settled part, the body as the server sent it; the format-1
lines (one per entity) of earlier versions still resume; a line that cannot be read is
passed over and its entities are sent again."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from emmi_async.batch._journal import Journal, JournalMismatchError, results_line
from emmi_async.batch._operation import analysis_results
from emmi_async.models import EMISSIONS_ESTIMATES, to_json
from emmi_async.testing import ReferenceServer

from ._support import ESTIMATES, entities_used, entity, summary

pytestmark = pytest.mark.anyio

OPERATION = "emissions-estimates"


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def sent_fingerprint(item: dict[str, Any], index: int, form: int = 2) -> str:
    """The fingerprint of an entity as a journal of format ``form`` digests it: 16 hex
    digits of SHA-256 (format 2) or of BLAKE2b-64 (format 1)."""
    sent = EMISSIONS_ESTIMATES.prepare_json(item, index)
    if form == 1:
        return hashlib.blake2b(sent, digest_size=8).hexdigest()
    return hashlib.sha256(sent).hexdigest()[:16]


async def test_a_line_per_chunk_holding_the_body_as_the_server_sent_it(tmp_path: Path) -> None:
    inputs = [entity(i) for i in range(25)]
    journal = tmp_path / "run.jsonl"
    server = ReferenceServer(seed=1)
    async with server, server.client() as client:
        runner = client.batch(client.emissions.estimate, chunk_size=10, journal=journal)
        report = await runner.run(inputs)
    header, *lines = lines_of(journal)
    assert header == {"emmi_journal": 2, "operation": OPERATION}
    assert sorted(len(line["i"]) for line in lines) == [5, 10, 10]
    by_index = {outcome.index: outcome for outcome in report.outcomes}
    for line in lines:
        results = line["body"]["results"]
        assert len(results) == len(line["i"]) == len(line["id"]) == len(line["fp"])
        for index, identifier, fingerprint, result in zip(
            line["i"], line["id"], line["fp"], results, strict=True
        ):
            assert identifier == inputs[index]["entity_info"]["identifier"]
            assert fingerprint == sent_fingerprint(inputs[index], index)
            assert EMISSIONS_ESTIMATES.decode([result])[0] == by_index[index].result


async def test_format_1_journal_resumes(tmp_path: Path) -> None:
    inputs = [entity(i) for i in range(20)]
    server = ReferenceServer(seed=1)
    async with server, server.client() as client:
        whole = await client.batch(client.emissions.estimate, chunk_size=10).run(inputs)
        answers = await client.emissions.estimate(inputs[:8])
        journal = tmp_path / "old.jsonl"
        lines = [orjson.dumps({"emmi_journal": 1, "operation": OPERATION})]
        for index, result in enumerate(answers):  # as version 1 wrote them
            item = {
                "i": index,
                "id": inputs[index]["entity_info"]["identifier"],
                "fp": sent_fingerprint(inputs[index], index, form=1),
                "ok": to_json(result),
            }
            lines.append(orjson.dumps(item))
        journal.write_bytes(b"\n".join(lines) + b"\n")
        before = entities_used(server, server.keys.single, ESTIMATES)
        runner = client.batch(client.emissions.estimate, chunk_size=10, journal=journal)
        resumed = await runner.run(inputs)
        sent = entities_used(server, server.keys.single, ESTIMATES) - before
    assert runner.stats is not None
    assert runner.stats.resumed == 8
    assert sent == 12
    assert [summary(o) for o in resumed.outcomes] == [summary(o) for o in whole.outcomes]


def test_lines_that_cannot_be_read_back_leave_their_entities_to_send(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    good = {"i": [0, 1], "id": ["A", "B"], "fp": ["0a", "0b"], "body": {"results": [{"x": 1}, 2]}}
    short = {"i": [2, 3], "id": ["C", "D"], "fp": ["0c", "0d"], "body": {"results": [{}]}}
    no_list = {"i": [4], "id": ["E"], "fp": ["0e"], "body": {"results": {"x": 1}}}
    refused = {
        "i": [5, 6],
        "id": ["F", "G"],
        "fp": ["0f", "10"],
        "err": {"status": 422, "message": "m", "request_id": None, "body": {"error": {}}},
    }
    lines = [
        orjson.dumps({"emmi_journal": 2, "operation": OPERATION}),
        orjson.dumps(good),
        b'{"i":[7],"id":["H"],"fp":["11"],"body":{"results":[NaN]}}',  # not strict JSON
        orjson.dumps(short),
        orjson.dumps(no_list),
        orjson.dumps(refused),
        b'{"i":[8],"id":["I"],"fp":["not hex"],"body":{"results":[{}]}}',
        b'{"i": [9], "id": ["J"], "fp": ["12"], "err": ',  # cut short, not the last line
        orjson.dumps({**good, "i": [1, 10], "fp": ["1b", "1a"]}),  # entity 1 recorded again
    ]
    journal.write_bytes(b"\n".join(lines) + b"\n")
    opened = Journal(journal, OPERATION, analysis_results)
    opened.open()
    try:
        assert [i for i in range(12) if opened.holds(i)] == [0, 1, 2, 3, 4, 5, 6, 7, 10]
        first = opened.recorded(0, "0a", "A")
        assert first is not None
        assert first.result == {"x": 1}
        assert first.identifier == "A"
        again = opened.recorded(1, "1b")  # the later line counts
        assert again is not None
        assert again.result == {"x": 1}
        for index, fingerprint in [(2, "0c"), (3, "0d"), (4, "0e"), (7, "11")]:
            assert opened.recorded(index, fingerprint) is None  # sent again
        refusal = opened.recorded(6, "10")
        assert refusal is not None
        assert refusal.error == refused["err"]
        with pytest.raises(JournalMismatchError, match=r"entity 0 \('A'\) differs"):
            opened.recorded(0, "ff", "A")
        assert opened.records_any(8, 10) is False
        assert opened.records_any(8, 11) is True
    finally:
        opened.close()
    assert journal.read_bytes().endswith(lines[-1] + b"\n")  # nothing cut: no torn last line


def test_a_body_with_line_breaks_is_written_on_one_line() -> None:
    body = b'{\r\n  "results": [\n    {"data": []},\n    {"data": [{"year": 2022}]}\n  ]\n}\n'
    line = b"".join(results_line([3, 4], ["C", "D"], ["fc", "fd"], body))
    assert line.count(b"\n") == 1
    assert line.endswith(b"\n")
    assert b"\r" not in line
    assert orjson.loads(line) == {
        "i": [3, 4],
        "id": ["C", "D"],
        "fp": ["fc", "fd"],
        "body": orjson.loads(body),
    }
    assert results_line([5], ["E"], ["fe"], b'{"results":\n[NaN]}') == []
    one_line = b'{"results":[{"data":[]}]}'
    assert results_line([6], ["F"], ["ff"], one_line)[1] is one_line  # not copied
