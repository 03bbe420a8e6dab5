"""Every public parameter is documented; the generated facade's docstrings read right."""

from __future__ import annotations

import inspect
import re

import pytest

import emmi_async.sync
from emmi_async import AsyncEmmi, BatchRunner, Emmi
from emmi_async._base_client import BaseClient


def _keywords(func: object) -> list[str]:
    return [
        name
        for name, parameter in inspect.signature(func).parameters.items()  # type: ignore[arg-type]
        if name not in ("self", "client") and parameter.kind is not parameter.VAR_KEYWORD
    ]


@pytest.mark.parametrize(
    ("documented", "function"),
    [
        (AsyncEmmi, BaseClient.__init__),
        (Emmi, BaseClient.__init__),
        (AsyncEmmi.batch, AsyncEmmi.batch),
        (Emmi.batch, AsyncEmmi.batch),
        (BatchRunner, BatchRunner.__init__),
    ],
    ids=["AsyncEmmi", "Emmi", "AsyncEmmi.batch", "Emmi.batch", "BatchRunner"],
)
def test_every_parameter_is_documented(documented: object, function: object) -> None:
    doc = inspect.getdoc(documented) or ""
    missing = [name for name in _keywords(function) if not re.search(rf"^\s*{name}: ", doc, re.M)]
    assert missing == []


def test_the_facade_does_not_point_at_private_modules_or_contradict_itself() -> None:
    text = inspect.getsource(emmi_async.sync)
    docstrings = re.findall(r'"""(.*?)"""', text, re.S)[1:]  # not the module's own
    for doc in docstrings:
        assert ":mod:`emmi_async._" not in doc
        assert "async context manager" not in doc
        assert "The async EMMI client" not in doc
