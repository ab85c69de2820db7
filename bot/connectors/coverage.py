"""Network coverage by place, behind an interface a real operator replaces with its own API.

The demo provider reads ``bot/connectors/data/coverage_demo.csv``: Belgian and Dutch places
with their names in nl/fr/en, postcodes, province, 4G/5G levels and the approximate coordinates
of their centre (for a shared location). It is demo data, not a map.

Which provider answers is a setting (COVERAGE_PROVIDER, see :func:`coverage_provider`): the demo
CSV only when asked for (or in a demo, DEMO=true), a real operator's class by its dotted path,
and otherwise :class:`UnavailableCoverageProvider`, which says there is no coverage data instead
of answering from the demo file.
"""

from __future__ import annotations

import csv
import difflib
import importlib
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from bot.core.settings import Settings, SettingsError
from bot.core.unicode import fold

DEMO_FILE = Path(__file__).with_name("data") / "coverage_demo.csv"
_BE_POSTCODE = re.compile(r"\b([1-9]\d{3})\b")
_NL_POSTCODE = re.compile(r"\b([1-9]\d{3})\s?([a-z]{2})\b")
EARTH_RADIUS_KM = 6371.0
NEAREST_MAX_KM = 30.0  # farther than this from every known centre, the place is unknown


@dataclass(frozen=True)
class Place:
    key: str
    country: str  # BE | NL
    province: str
    names: dict[str, str]  # language -> display name
    postcodes: tuple[str, ...]
    g4: str  # good | partial | none
    g5: str  # yes | partial | no
    aliases: tuple[str, ...] = ()
    lat: float | None = None  # centre of the place, WGS84 degrees
    lon: float | None = None

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["nl"]


class CoverageUnavailable(RuntimeError):
    """The provider has no coverage data to answer from (none configured, or its source is down)."""


class CoverageProvider(Protocol):
    """What the actions ask. A provider that knows where places are may also offer
    ``nearest(lat, lon) -> Place | None`` (a location shared on Telegram uses it)."""

    def find(self, text: str) -> Place | None:
        """The place named in ``text`` (a name, a misspelt name or a postcode), or None.

        Raises :class:`CoverageUnavailable` when there is no coverage data to look in."""


def normalize(text: str) -> str:
    """Lowercase, accents removed, punctuation to spaces ("Liège!" -> "liege")."""
    return " ".join(re.sub(r"[^a-z0-9' -]", " ", fold(text)).replace("-", " ").split())


class CsvCoverageProvider:
    """Coverage from a CSV file (see module docstring for the columns)."""

    def __init__(self, places: list[Place]) -> None:
        self.places = places
        self._by_alias: dict[str, Place] = {}
        self._by_postcode: dict[str, Place] = {}
        for place in places:
            for alias in (*place.names.values(), *place.aliases):
                self._by_alias.setdefault(normalize(alias), place)
            for code in place.postcodes:
                self._by_postcode.setdefault(normalize(code).replace(" ", ""), place)

    @classmethod
    def from_csv(cls, path: Path = DEMO_FILE) -> CsvCoverageProvider:
        with path.open(encoding="utf-8", newline="") as handle:
            return cls([_place_from_row(row) for row in csv.DictReader(handle)])

    def find(self, text: str) -> Place | None:
        norm = normalize(text)
        if not norm:
            return None
        return self._by_postcode_in(norm) or self._by_name_in(norm)

    def nearest(self, lat: float, lon: float, max_km: float = NEAREST_MAX_KM) -> Place | None:
        """The place whose centre is closest to a location, or None when none is within ``max_km``."""
        located = [p for p in self.places if p.lat is not None and p.lon is not None]
        distances = [(haversine_km(lat, lon, p.lat, p.lon), p) for p in located]  # type: ignore[arg-type]
        if not distances:
            return None
        distance, place = min(distances, key=lambda pair: pair[0])
        return place if distance <= max_km else None

    def _by_postcode_in(self, norm: str) -> Place | None:
        for digits, letters in _NL_POSTCODE.findall(norm):
            place = self._by_postcode.get(f"{digits}{letters}")
            if place:
                return place
            nl = self._nearest_nl_postcode(digits)
            if nl:
                return nl
        for digits in _BE_POSTCODE.findall(norm):
            if digits in self._by_postcode:
                return self._by_postcode[digits]
        return None

    def _nearest_nl_postcode(self, digits: str) -> Place | None:
        """Dutch postcodes: the 4 digits identify the area well enough for demo data."""
        for code, place in self._by_postcode.items():
            if place.country == "NL" and code.startswith(digits[:3]):
                return place
        return None

    def _by_name_in(self, norm: str) -> Place | None:
        tokens = norm.split()
        grams = [" ".join(tokens[i : i + n]) for n in (3, 2, 1) for i in range(len(tokens) - n + 1)]
        for gram in grams:  # exact names first, longest first
            if gram in self._by_alias:
                return self._by_alias[gram]
        aliases = list(self._by_alias)
        for gram in grams:  # then a close misspelling of a name of 4+ letters
            if len(gram) >= 4:
                close = difflib.get_close_matches(gram, aliases, n=1, cutoff=0.84)
                if close:
                    return self._by_alias[close[0]]
        return None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi, d_lambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def _coordinate(raw: str | None) -> float | None:
    return float(raw) if raw and raw.strip() else None


def _place_from_row(row: dict[str, str]) -> Place:
    return Place(
        key=row["key"],
        country=row["country"],
        province=row["province"],
        names={"nl": row["name_nl"], "fr": row["name_fr"], "en": row["name_en"]},
        postcodes=tuple(p.strip() for p in row["postcodes"].split("|") if p.strip()),
        g4=row["g4"],
        g5=row["g5"],
        aliases=tuple(a for a in row["aliases"].split("|") if a),
        lat=_coordinate(row.get("lat")),
        lon=_coordinate(row.get("lon")),
    )


@lru_cache(maxsize=1)
def demo_provider() -> CsvCoverageProvider:
    return CsvCoverageProvider.from_csv()


class UnavailableCoverageProvider:
    """No coverage data configured (COVERAGE_PROVIDER=none, the default outside a demo)."""

    def find(self, text: str) -> Place | None:
        raise CoverageUnavailable("no coverage data: set COVERAGE_PROVIDER (see the README)")

    def nearest(self, lat: float, lon: float, max_km: float = NEAREST_MAX_KM) -> Place | None:
        raise CoverageUnavailable("no coverage data: set COVERAGE_PROVIDER (see the README)")


def coverage_provider(settings: Settings) -> CoverageProvider:
    """The provider COVERAGE_PROVIDER names: ``demo`` (the demo CSV), ``none`` (no data), or
    ``package.module:Class``, built with ``Class.from_settings(settings)`` when it has that
    class method, else ``Class()``. One instance per setting and process."""
    return _provider(settings.coverage_provider, settings)


@lru_cache(maxsize=4)
def _provider(spec: str, settings: Settings) -> Any:
    if spec == "demo":
        return demo_provider()
    if spec == "none":
        return UnavailableCoverageProvider()
    module_name, _, class_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise SettingsError(f"COVERAGE_PROVIDER={spec!r} cannot be loaded: {exc}") from exc
    factory = getattr(cls, "from_settings", None)
    return factory(settings) if callable(factory) else cls()
