"""A copy of the project's editable files, and the one new intent the editor tests fill in
(billing_late_fee): tests never touch the real files."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.core.settings import PROJECT_ROOT
from bot.rasa.nlu.embedding_cache import DEFAULT_DIRECTORY

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


def copy_project(root: Path) -> Path:
    """The files editors change, copied into ``root``: tests never touch the real ones."""
    for name in COPIED:
        source, target = PROJECT_ROOT / name, root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy2(source, target)
    # what training encoded before (bot/rasa/nlu/embedding_cache.py), as on an editor's machine:
    # a copy, so the project's own cache is never written by a test
    cache = PROJECT_ROOT / DEFAULT_DIRECTORY
    if cache.is_dir():
        shutil.copytree(cache, root / DEFAULT_DIRECTORY)
    return root


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


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
