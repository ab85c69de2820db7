"""`python -m bot.editor add-intent` on a copy of the project: never on the real files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.settings import PROJECT_ROOT
from bot.editor.__main__ import main

COPIED = (
    "domain.yml",
    "config.yml",
    "data",
    "handoff/rules.yml",
    "actions/intent_labels.yml",
    "tests/conversations",
    "bench/heldout",
)
LANGUAGE_NAMES = {"nl": "Dutch", "fr": "French", "en": "English"}
LATE_FEE = {
    "nl": [
        "waarom moet ik een boete betalen omdat ik te laat was",
        "wat kost een herinnering als ik mijn factuur laat betaal",
        "er staan 10 euro aanmaningskosten op mijn rekening",
        "hoeveel rekenen jullie aan voor een laattijdige betaling",
        "ik heb 3 dagen te laat betaald en nu krijg ik extra kosten",
        "kunnen die nalatigheidskosten geschrapt worden",
        "vanwaar die kosten voor een betalingsherinnering",
        "is een administratieve kost voor te laat betalen wel wettelijk",
        "wat is die lijn herinneringskosten op mijn factuur",
        "ik betaalde een dag na de vervaldag, waarom een boete",
        "krijg ik een boete als ik volgende week pas betaal",
        "de nalatigheidsintrest op mijn rekening klopt niet",
        "hoe hoog is de kost van een tweede aanmaning",
        "kan ik de boete voor te laat betalen terugkrijgen",
        "waarom betaal ik extra voor een herinneringsbrief",
    ],
    "fr": [
        "pourquoi dois-je payer une pénalité pour retard",
        "combien coûte un rappel si je paie ma facture en retard",
        "il y a 10 euros de frais de rappel sur ma facture",
        "quels frais appliquez-vous pour un paiement tardif",
        "j'ai payé avec 3 jours de retard et maintenant j'ai des frais en plus",
        "pouvez-vous annuler ces frais de retard",
        "d'où viennent ces frais de lettre de rappel",
        "des frais administratifs pour un retard de paiement, c'est légal ?",
        "c'est quoi la ligne frais de relance sur ma facture",
        "j'ai payé un jour après l'échéance, pourquoi une amende",
        "aurai-je une pénalité si je paie seulement la semaine prochaine",
        "les intérêts de retard sur ma facture sont faux",
        "combien coûte un deuxième rappel",
        "puis-je récupérer la pénalité de retard",
        "pourquoi je paie en plus pour une lettre de rappel",
    ],
    "en": [
        "why do I have to pay a penalty for paying late",
        "how much is a reminder if I pay my bill late",
        "there's a 10 euro reminder fee on my invoice",
        "what do you charge for a late payment",
        "I paid 3 days late and now there are extra costs",
        "can you waive the late payment charge",
        "where does this reminder letter fee come from",
        "is an admin fee for late payment even legal",
        "what is the reminder costs line on my bill",
        "I paid one day after the due date, why a fine",
        "will I be fined if I only pay next week",
        "the late payment interest on my invoice is wrong",
        "how much does a second reminder cost",
        "can I get the late fee refunded",
        "why am I paying extra for a reminder letter",
    ],
}
# What the test conversations send (not training examples: the model must generalise).
CONVERSATION_MESSAGE = {
    "nl": "ik kreeg 15 euro herinneringskosten omdat ik te laat betaalde",
    "fr": "j'ai reçu 15 euros de frais de rappel pour un paiement en retard",
    "en": "I got a 15 euro reminder fee for paying late",
}
THREAT = {
    "nl": [
        "iemand bedreigt mij via sms",
        "ik krijg dreigtelefoons van een onbekend nummer",
        "ik word bedreigd",
    ],
    "fr": [
        "quelqu'un me menace par SMS",
        "je reçois des appels menaçants d'un numéro inconnu",
        "on me menace",
    ],
    "en": ["someone is threatening me by text", "I keep getting threatening calls", "I am being threatened"],
}


def copy_project(root: Path) -> Path:
    """The files editors change, copied into ``root``: tests never touch the real ones."""
    for name in COPIED:
        source, target = PROJECT_ROOT / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    return root


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in root.rglob("*.yml")}


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def check(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    code = main(["check", "--fast", "--project", str(root), *extra])
    return code, capsys.readouterr().out.splitlines()


def added_lines(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str]]:
    """Lines added per file; asserts nothing was removed or reordered."""
    changed = {}
    for name, text in after.items():
        old = before.get(name, "")
        if text == old:
            continue
        old_lines, new_lines = old.splitlines(), text.splitlines()
        remaining = iter(new_lines)
        assert all(any(line == n for n in remaining) for line in old_lines), f"{name}: existing lines changed"
        extra = list(new_lines)
        for line in old_lines:
            extra.remove(line)
        changed[name] = extra
    return changed


def test_add_a_topic_intent_then_fill_it_in(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real_before = snapshot(PROJECT_ROOT / "data")
    before = snapshot(copy)
    assert main(["add-intent", "billing_late_fee", "--project", str(copy)]) == 0
    changed = added_lines(before, snapshot(copy))
    assert sorted(changed) == sorted(
        [
            "domain.yml",
            "data/rules.yml",
            "actions/intent_labels.yml",
            *(f"data/nlu/{lang}/billing.yml" for lang in LANGUAGE_NAMES),
            *(f"tests/conversations/test_{lang}.yml" for lang in LANGUAGE_NAMES),
        ]
    )
    assert "  - billing_late_fee" in changed["domain.yml"]
    assert "  utter_billing_late_fee:  # answer for billing_late_fee" in changed["domain.yml"]
    assert "      - action: utter_billing_late_fee" in changed["data/rules.yml"]
    assert changed["data/nlu/fr/billing.yml"][0] == "- intent: billing_late_fee"
    assert "        intent: billing_late_fee" in changed["tests/conversations/test_en.yml"]
    assert "TODO(editor)" in changed["actions/intent_labels.yml"][0]

    code, out = check(copy, capsys)
    assert code == 1
    assert out[-1].startswith("FIX ")
    assert any(line.startswith("data/nlu/nl/billing.yml:") and "placeholder" in line for line in out)
    assert any(line.startswith("domain.yml:") and "placeholder" in line for line in out)
    assert any(line.startswith("tests/conversations/test_fr.yml:") for line in out)

    fill_late_fee(copy)
    assert check(copy, capsys) == (0, ["PASS"])
    assert snapshot(PROJECT_ROOT / "data") == real_before


def fill_late_fee(root: Path) -> None:
    replace(root / "actions/intent_labels.yml", "TODO(editor): short button label", "Late fee")
    for language, name in LANGUAGE_NAMES.items():
        placeholders = "".join(f"    - TODO(editor): customer message {i} in {name}\n" for i in (1, 2, 3))
        real = "".join(f"    - {text}\n" for text in LATE_FEE[language])
        replace(root / f"data/nlu/{language}/billing.yml", placeholders, real)
        replace(root / "domain.yml", f"TODO(editor): the answer in {name}", f"Late fee answer ({language})")
        replace(
            root / f"tests/conversations/test_{language}.yml",
            f"TODO(editor): a customer message in {name}",
            CONVERSATION_MESSAGE[language],
        )


def test_add_a_sensitive_trigger(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(copy)
    assert main(["add-intent", "sensitive_threat", "--topic", "sensitive", "--project", str(copy)]) == 0
    changed = added_lines(before, snapshot(copy))
    assert "intent_labels.yml" not in " ".join(changed)
    assert changed["handoff/rules.yml"][0].startswith(
        "  threat: {priority: normal, bot_answers_first: false}"
    )
    assert "  utter_escalate_threat:  # answer for sensitive_threat" in changed["domain.yml"]
    assert changed["data/rules.yml"][-1] == "      - action: action_escalate"
    assert "data/nlu/en/sensitive.yml" in changed
    assert check(copy, capsys, "--min-examples", "3")[0] == 1

    for language, name in LANGUAGE_NAMES.items():
        for i, text in enumerate(THREAT[language], start=1):
            replace(
                copy / f"data/nlu/{language}/sensitive.yml",
                f"TODO(editor): customer message {i} in {name}",
                text,
            )
        replace(
            copy / "domain.yml", f"TODO(editor): the answer in {name}", f"A colleague takes over ({language})"
        )
        replace(
            copy / f"tests/conversations/test_{language}.yml",
            f"TODO(editor): a customer message in {name}",
            "!",
        )
    replace(
        copy / "handoff/rules.yml",
        "  # TODO(editor): choose the priority (urgent, high, normal), then delete this comment",
        "",
    )
    assert check(copy, capsys, "--min-examples", "3") == (0, ["PASS"])


@pytest.mark.parametrize(
    ("name", "topic", "error"),
    [
        ("billing_refund", None, "intent billing_refund already exists"),
        ("late_fee", None, "starting with one of billing_, coverage_, sim_, sensitive_"),
        ("Billing_Late", None, "use lowercase words"),
        ("billing_late_fee", "sim", "starts with billing_ but --topic is sim"),
        ("sensitive_fraud", None, "intent sensitive_fraud already exists"),
    ],
)
def test_refused_names_change_nothing(
    copy: Path, capsys: pytest.CaptureFixture[str], name: str, topic: str | None, error: str
) -> None:
    before = snapshot(copy)
    assert main(["add-intent", name, *(["--topic", topic] if topic else []), "--project", str(copy)]) == 2
    assert error in capsys.readouterr().err
    assert snapshot(copy) == before


def test_make_intent_target(copy: Path) -> None:
    result = subprocess.run(
        [
            "make",
            "-s",
            "--no-print-directory",
            "intent",
            "NAME=coverage_tunnels",
            f"PROJECT={copy}",
            "PY=" + sys.executable,
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "  - coverage_tunnels\n" in (copy / "domain.yml").read_text(encoding="utf-8")
