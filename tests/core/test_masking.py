"""Personal-data masking (bot/core/masking/): what is masked, what is left alone, logging."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator

import pytest

from bot.core import masking
from bot.core.masking import MaskingFilter, install_log_masking, mask_text, mask_transcript

# (text, masked text): the data in the middle of ordinary nl/fr/en sentences.
PHONES = [
    ("mijn nummer is 0470 12 34 56, bel me", "mijn nummer is [phone •••56], bel me"),
    ("gsm: 0470/12.34.56", "gsm: [phone •••56]"),
    ("call me on +32 470 12 34 56 please", "call me on [phone •••56] please"),
    ("mon numéro: 0032470123456 merci", "mon numéro: [phone •••56] merci"),
    ("bel 32470123456 na 17u", "bel [phone •••56] na 17u"),
    ("bereikbaar op +32 (0)470 12 34 56.", "bereikbaar op [phone •••56]."),
    ("tel0470123456", "tel[phone •••56]"),
    ("mijn 06-12345678 doet het niet", "mijn [phone •••78] doet het niet"),
    ("Dutch number +31 6 12345678 roaming", "Dutch number [phone •••78] roaming"),
    ("appelez-moi au 06 12 34 56 78 svp", "appelez-moi au [phone •••78] svp"),
    ("mon fixe: +33 1 23 45 67 89", "mon fixe: [phone •••89]"),
    ("vast nummer 02 123 45 67", "vast nummer [phone •••67]"),
    ("kantoor 02 512 34 56 of thuis 09 234 56 78", "kantoor [phone •••56] of thuis [phone •••78]"),
    ("numéro luxembourgeois +352 621 123 456", "numéro luxembourgeois [phone •••56]"),
    ("LU gsm 621 123 456", "LU gsm [phone •••56]"),
    ("meine Nummer +49 30 12345678", "meine Nummer [phone •••78]"),
    ("Handy 0151 23456789", "Handy [phone •••89]"),
    ("0470 12 34 56 0471 23 45 67", "[phone •••56] [phone •••67]"),
    ("02 512 34 56 0470 12 34 56", "[phone •••56] [phone •••56]"),
    ("bel me op 23/11 0470 12 34 56", "bel me op 23/11 [phone •••56]"),
    ("+32470123456+32471234567", "[phone •••56][phone •••67]"),
]
IBANS = [
    ("mon IBAN est BE68 5390 0754 7034", "mon IBAN est [IBAN BE•• •••• •••• 7034]"),
    ("be68 5390 0754 7034 voor de factuur", "[IBAN BE•• •••• •••• 7034] voor de factuur"),
    ("NL91ABNA0417164300 is mijn rekening", "[IBAN NL•• •••• •••• 4300] is mijn rekening"),
    ("my account NL91 ABNA 0417 1643 00.", "my account [IBAN NL•• •••• •••• 4300]."),
    ("IBAN : FR14 2004 1010 0505 0001 3M02 606", "IBAN : [IBAN FR•• •••• •••• 2606]"),
    ("compte LU28 0019 4006 4475 0000 merci", "compte [IBAN LU•• •••• •••• 0000] merci"),
    ("Konto DE89 3704 0044 0532 0130 00", "Konto [IBAN DE•• •••• •••• 3000]"),
]
EMAILS = [
    ("mail jan.peeters@telenet.be aub", "mail [email j•••@telenet.be] aub"),
    ("écrivez à Marie-Claire.Dubois+factures@proximus.com.", "écrivez à [email M•••@proximus.com]."),
    ("my email is JOHN_DOE@example.co.uk, thanks", "my email is [email J•••@example.co.uk], thanks"),
    ("(an.de.smet@gmail.com)", "([email a•••@gmail.com])"),
]
CARDS = [
    ("my card 4111-1111-1111-1111 was charged", "my card [card •••• 1111] was charged"),
    ("kaart 5555 5555 5555 4444 is geblokkeerd", "kaart [card •••• 4444] is geblokkeerd"),
    ("carte 4012888888881881 refusée", "carte [card •••• 1881] refusée"),
    ("Amex 3782 822463 10005", "Amex [card •••• 0005]"),
    ("4111 1111 1111 1111 exp 12/27", "[card •••• 1111] exp 12/27"),
    ("ref 12 4111 1111 1111 1111", "ref 12 [card •••• 1111]"),
]
POSITIVE = PHONES + IBANS + EMAILS + CARDS

NEGATIVE = [
    "Mijn factuur bedraagt 45,50 euro",
    "Ça fait € 40 par mois, 3 x 15,99 = 47,97",
    "te betalen voor 23/11/2026",
    "due on 2026-11-23, contract 2026/11/23-0001",
    "le 05/11/2026 à 14:30",
    "het is 05.11.2026 om 14:30",
    "van 01/12/2026 tot 31/12/2026",
    "2026-11-23 14:30:05,123 INFO rasa.core",
    "tussen 9u en 17u30",
    "9000 Gent",
    "postcode 3500 Hasselt",
    "mon code PIN est 1234",
    "PUK 12345678",
    "mijn PUK-code is 12345678, pincode 0000",
    "1.5 GB en 5G",
    "100 GB voor 25 euro",
    "klantnummer 7001234567",
    "factuur F2026/004512",
    "bestelling 2026000123",
    "invoice 123456789",
    "numéro de client 123-456-789",
    "Order #100234 of 12.11.2026 10:15",
    "ref 1234 5678 9012 3456",  # not Luhn-valid
    "BE68 5390 0754 7035",  # wrong IBAN checksum
    "IMEI 356938035643809",
    "+++090/9337/55493+++",
    "versie 3.6.20 op 127.0.0.1:5005",
    "took 0.123456789 s",
    "epoch 1763900000",
    "sender 0f8fad5b-d9cb-469f-a165-70867728950e",
    "",
    "😀👍",
]


@pytest.mark.parametrize(("text", "expected"), POSITIVE)
def test_masks_personal_data(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize("text", NEGATIVE)
def test_leaves_ordinary_numbers_alone(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize("text", [t for t, _ in POSITIVE] + NEGATIVE)
def test_is_idempotent(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


def test_regions_choose_national_formats_but_not_international_ones() -> None:
    assert mask_text("06 12 34 56 78", regions=("BE",)) == "06 12 34 56 78"
    assert mask_text("06 12 34 56 78", regions=("FR",)) == "[phone •••78]"
    assert mask_text("+33 6 12 34 56 78", regions=("BE",)) == "[phone •••78]"


def test_html_is_untouched_apart_from_the_data() -> None:
    html = (
        '<p class="msg" data-id="42">Bel <b>0470 12 34 56</b> of mail '
        '<a href="mailto:jan@telenet.be">jan@telenet.be</a>&nbsp;&euro;&#8364; 45,50</p>'
    )
    assert mask_text(html) == (
        '<p class="msg" data-id="42">Bel <b>[phone •••56]</b> of mail '
        '<a href="mailto:[email j•••@telenet.be]">[email j•••@telenet.be]</a>&nbsp;&euro;&#8364; 45,50</p>'
    )


def test_several_kinds_in_one_message() -> None:
    text = (
        "Bonjour, je suis joignable au 0470 12 34 56 ou par mail marie@skynet.be. "
        "Remboursez sur BE68 5390 0754 7034 et pas sur ma carte 4111 1111 1111 1111 svp, 45,50 euro."
    )
    assert mask_text(text) == (
        "Bonjour, je suis joignable au [phone •••56] ou par mail [email m•••@skynet.be]. "
        "Remboursez sur [IBAN BE•• •••• •••• 7034] et pas sur ma carte [card •••• 1111] svp, 45,50 euro."
    )


ODD_STRINGS = {
    "empty": "",
    "space": " ",
    "whitespace": "\n\t\r",
    "emoji": "😀" * 500,
    "nul-and-lone-surrogate": "\x00\ud800 bizarre",
    "non-ascii-digits": "²³⁴⁵⁶⁷⁸⁹¹²³⁴⁵⁶ ٠٤٧٠١٢٣٤٥٦ ４１１１ １１１１ １１１１ １１１１",
    "at-signs": "a@" * 5000,
    "zeros": "0 " * 5000,
    "phone-prefixes": "0470 " * 2000,
    "ten-thousand-digits": "1" * 10000,
    "iban-like-words": "ab12 " * 2000,
    "ones": "1 " * 5000,
    "zeros-and-ones": "0 1 " * 2500,
    "plus-signs": "+" * 10000,
    "html": "<script>alert(1)</script>" * 400,
}


@pytest.mark.parametrize("text", list(ODD_STRINGS.values()), ids=list(ODD_STRINGS))
def test_never_raises_on_odd_or_long_strings(text: str) -> None:
    masked = mask_text(text)
    assert isinstance(masked, str)
    assert mask_text(masked) == masked


def test_never_raises_on_random_text() -> None:
    rng = random.Random(20261123)
    alphabet = "0123456789      +-./()@:,€éàBENLFR abcxyz<>&😀\n"
    for _ in range(50):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        assert isinstance(mask_text(text), str)


def test_long_message_is_masked_throughout() -> None:
    line = "Bel 0470 12 34 56 of mail jan@x.be, IBAN BE68 5390 0754 7034, 45,50 euro. "
    masked = mask_text(line * 140)
    assert len(line * 140) >= 10_000
    assert masked == mask_text(line) * 140


def test_very_long_digit_runs_are_masked_without_validation() -> None:
    run = " ".join(["0470 12 34 56"] * 8)  # over 64 characters: not sent to phonenumbers
    assert mask_text(f"nummers: {run}.") == "nummers: [phone •••]."


def test_falls_back_to_blanking_when_a_detector_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> list:
        raise RuntimeError("boom")

    monkeypatch.setattr(masking.text, "_find_phones", broken)
    masked = mask_text("bel 0470 12 34 56 of mail jan@x.be, PIN 1234")
    assert masked == "bel [redacted] of mail [redacted] PIN 1234"


def test_mask_transcript_masks_text_and_copies() -> None:
    meta = {"lang": "nl"}
    messages = [
        {"sender": "customer", "text": "mijn nummer is 0470 12 34 56", "ts": 1763900000.0, "meta": meta},
        {"sender": "bot", "text": "Dank je!"},
        {"sender": "agent", "text": None},
        {"sender": "system"},
    ]
    masked = mask_transcript(messages)
    assert masked == [
        {"sender": "customer", "text": "mijn nummer is [phone •••56]", "ts": 1763900000.0, "meta": meta},
        {"sender": "bot", "text": "Dank je!"},
        {"sender": "agent", "text": None},
        {"sender": "system"},
    ]
    assert messages[0]["text"] == "mijn nummer is 0470 12 34 56"
    assert all(copy is not original for copy, original in zip(masked, messages, strict=True))
    assert masked[0]["meta"] is meta  # other keys untouched, not deep-copied
    assert mask_transcript([]) == []


class _Collecting(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, _Collecting]]:
    """A logger of its own that does not propagate, with a collecting handler."""
    log = logging.getLogger("tests.masking")
    handler = _Collecting()
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log, handler
    log.removeHandler(handler)
    log.setLevel(logging.NOTSET)
    log.propagate = True


def test_filter_masks_message_and_args(logger: tuple[logging.Logger, _Collecting]) -> None:
    log, handler = logger
    install_log_masking(log)
    log.info("customer %s paid %s euro with %s", "0470 12 34 56", "45,50", "4111 1111 1111 1111")
    record = handler.records[-1]
    assert record.msg == "customer [phone •••56] paid 45,50 euro with [card •••• 1111]"
    assert record.args == ()
    assert handler.lines[-1] == "INFO customer [phone •••56] paid 45,50 euro with [card •••• 1111]"


def test_filter_masks_dict_args_and_bad_format_strings(logger: tuple[logging.Logger, _Collecting]) -> None:
    log, handler = logger
    install_log_masking(log)
    log.warning("mail %(mail)s", {"mail": "jan@telenet.be"})
    log.warning("%d items for %s", "0470 12 34 56")  # wrong arguments: must not raise nor leak
    assert handler.lines[0] == "WARNING mail [email j•••@telenet.be]"
    assert "0470" not in handler.lines[1]
    assert "[phone •••56]" in handler.lines[1]


def test_filter_masks_tracebacks(logger: tuple[logging.Logger, _Collecting]) -> None:
    log, handler = logger
    install_log_masking(log)
    try:
        raise ValueError("refund to BE68 5390 0754 7034 failed")
    except ValueError:
        log.exception("refund for %s", "jan@telenet.be")
    output = handler.lines[-1]
    assert "5390" not in output and "jan@" not in output
    assert "ValueError: refund to [IBAN BE•• •••• •••• 7034] failed" in output
    assert output.startswith("ERROR refund for [email j•••@telenet.be]\nTraceback")


def test_install_log_masking_is_idempotent(logger: tuple[logging.Logger, _Collecting]) -> None:
    log, handler = logger
    install_log_masking(log)
    install_log_masking(log)
    assert sum(isinstance(f, MaskingFilter) for f in handler.filters) == 1


def test_handlers_added_after_install_need_it_again() -> None:
    log = logging.getLogger("tests.masking_late")
    log.propagate = False
    install_log_masking(log)  # no handler yet: nothing to do
    handler = _Collecting()
    log.addHandler(handler)
    try:
        log.warning("bel %s", "0470 12 34 56")
        install_log_masking(log)
        log.warning("bel %s", "0470 12 34 56")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    assert handler.lines == ["WARNING bel 0470 12 34 56", "WARNING bel [phone •••56]"]


def test_install_log_masking_defaults_to_the_root_logger() -> None:
    root = logging.getLogger()
    handler = _Collecting()
    root.addHandler(handler)
    try:
        install_log_masking()
        install_log_masking()
        assert sum(isinstance(f, MaskingFilter) for f in handler.filters) == 1
        logging.getLogger("masking_test.child").warning("IBAN %s", "NL91ABNA0417164300")
        assert handler.lines[-1] == "WARNING IBAN [IBAN NL•• •••• •••• 4300]"
    finally:
        root.removeHandler(handler)
