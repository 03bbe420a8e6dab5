"""One thin module per endpoint group: build the request, call the pipeline, structure.

Resource classes are named ``...Resource`` so that they never collide with the models
(``resources.EmissionsResource`` sends requests, ``models.Emissions`` is a value). The
former names (``Emissions``, ``ClimateRisk``, ``TemperatureAlignment``, ``Rankings``,
``Hazards``, ``Customers``, ``Service``) remain importable from here as aliases.
"""

from emmi_async.resources._base import RawResponseResource, Resource, spec_of
from emmi_async.resources.climate_risk import (
    ClimateRiskResource,
    ClimateRiskResourceWithRawResponse,
)
from emmi_async.resources.customers import CustomersResource, CustomersResourceWithRawResponse
from emmi_async.resources.estimates import EmissionsResource, EmissionsResourceWithRawResponse
from emmi_async.resources.hazards import HazardsResource, HazardsResourceWithRawResponse
from emmi_async.resources.rankings import RankingsResource, RankingsResourceWithRawResponse
from emmi_async.resources.service import ServiceResource, ServiceResourceWithRawResponse
from emmi_async.resources.temperature_alignment import (
    TemperatureAlignmentResource,
    TemperatureAlignmentResourceWithRawResponse,
)
from emmi_async.resources.usage import UsageResource, UsageResourceWithRawResponse

# The former names, kept importable.
ClimateRisk = ClimateRiskResource
Customers = CustomersResource
Emissions = EmissionsResource
Hazards = HazardsResource
Rankings = RankingsResource
Service = ServiceResource
TemperatureAlignment = TemperatureAlignmentResource

__all__ = [
    "ClimateRisk",
    "ClimateRiskResource",
    "ClimateRiskResourceWithRawResponse",
    "Customers",
    "CustomersResource",
    "CustomersResourceWithRawResponse",
    "Emissions",
    "EmissionsResource",
    "EmissionsResourceWithRawResponse",
    "Hazards",
    "HazardsResource",
    "HazardsResourceWithRawResponse",
    "Rankings",
    "RankingsResource",
    "RankingsResourceWithRawResponse",
    "RawResponseResource",
    "Resource",
    "Service",
    "ServiceResource",
    "ServiceResourceWithRawResponse",
    "TemperatureAlignment",
    "TemperatureAlignmentResource",
    "TemperatureAlignmentResourceWithRawResponse",
    "UsageResource",
    "UsageResourceWithRawResponse",
    "spec_of",
]
