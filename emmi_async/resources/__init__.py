"""One thin module per endpoint group: build the request, call the pipeline, structure."""

from emmi_async.resources._base import Resource, spec_of
from emmi_async.resources.climate_risk import ClimateRisk
from emmi_async.resources.customers import Customers
from emmi_async.resources.estimates import Emissions
from emmi_async.resources.hazards import Hazards
from emmi_async.resources.rankings import Rankings
from emmi_async.resources.service import Service
from emmi_async.resources.temperature_alignment import TemperatureAlignment
from emmi_async.resources.usage import UsageResource

__all__ = [
    "ClimateRisk",
    "Customers",
    "Emissions",
    "Hazards",
    "Rankings",
    "Resource",
    "Service",
    "TemperatureAlignment",
    "UsageResource",
    "spec_of",
]
