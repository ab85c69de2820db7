from __future__ import annotations

import asyncio
import json

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.engine import Engine

from actions.coverage import ActionCoverageCheck
from bot.connectors.coverage import (
    CoverageUnavailable,
    Place,
    coverage_provider,
    demo_provider,
    haversine_km,
    normalize,
)
from bot.core.outages import OutageRepository
from bot.core.settings import Settings, SettingsError


@pytest.mark.parametrize(
    "text, key",
    [
        ("is er bereik in Gent?", "gent"),
        ("réseau à Liège", "liege"),
        ("Luik", "liege"),
        ("9000", "gent"),
        ("bij mij in 3500 hasselt", "hasselt"),
        ("coverage in antwerpn", "antwerpen"),
        ("1011 AB Amsterdam", "amsterdam"),
        ("ik woon in 1012AB", "amsterdam"),
        ("la louvière", "la-louviere"),
        ("Den Haag", "den-haag"),
        ("The Hague", "den-haag"),
        ("LOUVAIN-LA-NEUVE", "louvain-la-neuve"),
        ("Sint-Niklaas", "sint-niklaas"),
        ("à Bruxelles", "brussel"),
        ("slecht bereik in zaventem", "zaventem"),
    ],
)
def test_places_are_found_by_name_typo_and_postcode(text: str, key: str) -> None:
    place = demo_provider().find(text)
    assert place is not None and place.key == key


@pytest.mark.parametrize("text", ["", "hoi", "kan ik bellen", "Zwalm", "12", "99999", "🙂"])
def test_unknown_or_no_place(text: str) -> None:
    assert demo_provider().find(text) is None


def test_names_per_language() -> None:
    place = demo_provider().find("Anvers")
    assert (place.name("nl"), place.name("fr"), place.name("en")) == ("Antwerpen", "Anvers", "Antwerp")


def test_normalize() -> None:
    assert normalize("  Liège!! ") == "liege"
    assert normalize("Knokke-Heist") == "knokke heist"


# --- nearest place to a shared location ----------------------------------------------------


def test_every_place_has_coordinates_in_belgium_or_the_netherlands() -> None:
    for place in demo_provider().places:
        assert place.lat is not None and place.lon is not None, place.key
        assert 49.4 < place.lat < 53.6 and 2.5 < place.lon < 7.3, place.key
        assert demo_provider().find(place.key) == place  # the key routes back to its place


@pytest.mark.parametrize(
    "lat, lon, key",
    [
        (51.0543, 3.7174, "gent"),  # Korenmarkt
        (51.0380, 3.7100, "gent"),  # Sint-Pieters station
        (51.1000, 3.8000, "gent"),  # outskirts, still closest to Gent
        (50.8450, 4.3570, "brussel"),  # Grote Markt area
        (50.6400, 5.5700, "liege"),
        (52.3790, 4.9000, "amsterdam"),  # Centraal
        (49.9500, 5.6800, "bastogne"),
        (50.7750, 6.0100, "vaals"),
    ],
)
def test_nearest_place_to_a_location(lat: float, lon: float, key: str) -> None:
    place = demo_provider().nearest(lat, lon)
    assert place is not None and place.key == key


@pytest.mark.parametrize(
    "lat, lon",
    [
        (48.8566, 2.3522),  # Paris
        (51.5074, -0.1278),  # London
        (0.0, 0.0),
        (-33.87, 151.21),  # Sydney
        (50.30, 3.10),  # Douai (France), ~40 km from Tournai
    ],
)
def test_locations_far_from_every_known_place_are_unknown(lat: float, lon: float) -> None:
    assert demo_provider().nearest(lat, lon) is None


def test_nearest_refuses_places_beyond_the_limit() -> None:
    gent_station = (51.0360, 3.7105)
    assert demo_provider().nearest(*gent_station, max_km=1.0) is None
    assert demo_provider().nearest(*gent_station, max_km=3.0).key == "gent"


def test_haversine_distance() -> None:
    assert haversine_km(50.8467, 4.3525, 50.8467, 4.3525) == 0.0
    assert haversine_km(50.8467, 4.3525, 51.2194, 4.4025) == pytest.approx(41.6, abs=1.0)  # Brussel-Antwerpen


@pytest.mark.parametrize(
    "lat, lon, language, response, place",
    [
        (51.0545, 3.7205, "fr", "utter_coverage_5g_everywhere", "Gand"),  # Korenmarkt, Gent
        (50.0010, 5.7150, "nl", "utter_coverage_4g_partial", "Bastenaken"),
        (48.8566, 2.3522, "en", "utter_coverage_unknown_place", "48.86, 2.35"),  # Paris
    ],
)
def test_the_coverage_action_answers_a_shared_location(
    engine: Engine, lat: float, lon: float, language: str, response: str, place: str
) -> None:
    """What a Telegram location becomes (bot/channels/telegram.py), as Rasa hands it to the action:
    the intent payload's text with the place as its entity."""
    from bot.channels.telegram import location_payload

    text = location_payload(lat, lon)
    value = json.loads(text[text.index("{") :])["place"]
    tracker = Tracker(
        "conv-1",
        {"language": language},
        {
            "text": text,
            "intent": {"name": "coverage_check_place"},
            "entities": [{"entity": "place", "value": value}],
        },
        [],
        False,
        None,
        {},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionCoverageCheck(demo_provider(), OutageRepository(engine)).run(dispatcher, tracker, {}))
    assert [(m["response"], m["place"]) for m in dispatcher.messages] == [(response, place)]


class OperatorCoverage:
    """Stands in for an operator's own coverage API (COVERAGE_PROVIDER=tests.connectors.test_coverage:...)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: Settings) -> OperatorCoverage:
        return cls(settings)

    def find(self, text: str) -> Place | None:
        return demo_provider().find("gent") if "ghent" in text.lower() else None


def test_the_coverage_provider_is_chosen_by_the_settings() -> None:
    with pytest.raises(CoverageUnavailable):  # production without a provider: no demo answers
        coverage_provider(Settings.from_env({})).find("is er bereik in Gent?")
    assert coverage_provider(Settings.from_env({"DEMO": "true"})) is demo_provider()
    settings = Settings.from_env({"COVERAGE_PROVIDER": "tests.connectors.test_coverage:OperatorCoverage"})
    operator = coverage_provider(settings)
    assert isinstance(operator, OperatorCoverage) and operator.settings is settings
    assert operator.find("Ghent?").key == "gent" and operator.find("Gent") is None
    with pytest.raises(SettingsError, match="cannot be loaded"):
        coverage_provider(Settings.from_env({"COVERAGE_PROVIDER": "tests.connectors.test_coverage:Nothing"}))


def test_without_coverage_data_the_action_says_so_and_a_location_stays_coordinates(engine: Engine) -> None:
    from bot.channels.telegram import location_payload

    unavailable = coverage_provider(Settings.from_env({}))
    assert location_payload(51.0545, 3.7205, unavailable) == '/coverage_check_place{"place": "51.05, 3.72"}'
    tracker = Tracker(
        "conv-1",
        {"language": "en"},
        {"text": "is there 5G in Gent?", "intent": {"name": "coverage_check_place"}, "entities": []},
        [],
        False,
        None,
        {},
        "action_listen",
    )
    dispatcher = CollectingDispatcher()
    action = ActionCoverageCheck(unavailable, OutageRepository(engine))
    assert asyncio.run(action.run(dispatcher, tracker, {})) == [SlotSet("place", None)]
    assert [m["response"] for m in dispatcher.messages] == ["utter_coverage_unavailable"]
