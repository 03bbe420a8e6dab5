"""Fixed value sets (enums) and open value sets (constants classes) of the EMMI API.

Where the documentation fixes the values the type is an enum; where the service may know
more values than we do (scenarios, classification systems, projection methods, hazards)
the field is a plain ``str`` and a constants class names the known values.
"""

from __future__ import annotations

import enum
from typing import ClassVar, Final

__all__ = [
    "AssetType",
    "ClassificationSystem",
    "HazardScenario",
    "HazardType",
    "ProjectionMethod",
    "Scenario",
]


class AssetType(str, enum.Enum):
    """The four documented asset types; a ``str`` enum, so ``AssetType.EQUITY == "equity"``."""

    EQUITY = "equity"
    DEBT = "debt"
    INFRASTRUCTURE = "infrastructure"
    PROPERTY = "property"

    def __str__(self) -> str:
        return self.value


class Scenario:
    """Known climate scenario ids. Scenario fields are open: any non-empty string is sent."""

    IPCC_NET_ZERO: Final = "ipcc_net_zero"
    IPCC_TWO_DEGREE: Final = "ipcc_two_degree"
    IPCC_FOUR_DEGREE: Final = "ipcc_four_degree"
    NGFS_NET_ZERO: Final = "ngfs_net_zero"
    NGFS_BELOW_TWO_DEGREE: Final = "ngfs_below_two_degree"
    NGFS_BELOW_2_DEGREES: Final = "ngfs_below_2_degrees"
    """The second spelling of :attr:`NGFS_BELOW_TWO_DEGREE` seen in the documentation."""

    KNOWN: ClassVar[frozenset[str]] = frozenset(
        {
            IPCC_NET_ZERO,
            IPCC_TWO_DEGREE,
            IPCC_FOUR_DEGREE,
            NGFS_NET_ZERO,
            NGFS_BELOW_TWO_DEGREE,
            NGFS_BELOW_2_DEGREES,
        }
    )


class ClassificationSystem:
    """Known ``industry_classification_system`` values; the field is an open string."""

    RBICS: Final = "rbics"
    FACTSET: Final = "factset"

    KNOWN: ClassVar[frozenset[str]] = frozenset({RBICS, FACTSET})


class ProjectionMethod:
    """Known emissions-projection methods; the ``method`` field is an open string."""

    MONTE_CARLO: Final = "monte_carlo"
    """Simulated pathways from history: needs 3+ data years and ``projection_years``."""
    GLIDE_PATH: Final = "glide_path"
    """Linear path to reduction ``targets``: needs a target and emissions for a year."""

    KNOWN: ClassVar[frozenset[str]] = frozenset({MONTE_CARLO, GLIDE_PATH})


class HazardType:
    """Hazards the reference contract returns from ``/hazard-risk`` (open strings)."""

    CYCLONE: Final = "cyclone"
    WILDFIRE: Final = "wildfire"
    FLUVIAL_FLOOD: Final = "fluvial_flood"
    COASTAL_FLOOD: Final = "coastal_flood"

    KNOWN: ClassVar[frozenset[str]] = frozenset({CYCLONE, WILDFIRE, FLUVIAL_FLOOD, COASTAL_FLOOD})


class HazardScenario:
    """Warming scenarios the reference contract returns from ``/hazard-risk`` (open strings)."""

    BASELINE: Final = "baseline"
    RCP2P6: Final = "rcp2p6"
    RCP4P5: Final = "rcp4p5"
    RCP8P5: Final = "rcp8p5"

    KNOWN: ClassVar[frozenset[str]] = frozenset({BASELINE, RCP2P6, RCP4P5, RCP8P5})
