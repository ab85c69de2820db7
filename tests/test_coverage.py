import pytest

from actions.coverage import demo_provider, normalize


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
