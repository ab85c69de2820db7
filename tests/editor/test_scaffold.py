"""`python -m bot.editor add-intent` on a copy of the project: never on the real files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.settings import PROJECT_ROOT
from bot.editor.__main__ import main
from tests.helpers.project import LANGUAGE_NAMES, copy_project, fill_late_fee, replace

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


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def snapshot(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in root.rglob("*.yml")}


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


@pytest.mark.slow  # ~2 s: scaffolds, then runs the static check on a copy of the project
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


@pytest.mark.slow  # ~2 s: scaffolds, then runs the static check on a copy of the project
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


# -- help-centre articles -------------------------------------------------------------------------

FORWARDING = {
    "nl": [
        "kan ik mijn oproepen doorschakelen als ik in het buitenland ben",
        "wat kost doorschakelen naar een Belgisch nummer vanuit Spanje",
        "mijn voicemail neemt niet op in het buitenland",
        "oproepen doorsturen naar mijn vaste lijn tijdens de vakantie",
        "doorschakeling uitzetten voor ik op reis vertrek",
    ],
    "fr": [
        "puis-je renvoyer mes appels quand je suis à l'étranger",
        "combien coûte un renvoi d'appel vers un numéro belge depuis l'Espagne",
        "ma messagerie ne répond pas à l'étranger",
        "transférer mes appels vers mon fixe pendant les vacances",
        "désactiver le renvoi d'appel avant de partir en voyage",
    ],
    "en": [
        "can I forward my calls while I'm abroad",
        "what does forwarding to a Belgian number cost from Spain",
        "my voicemail doesn't pick up when I'm travelling",
        "divert calls to my landline during the holidays",
        "turn off call forwarding before I go on a trip",
    ],
}


@pytest.mark.slow  # ~2 s: scaffolds, then runs the static check on a copy of the project
def test_add_an_article_then_fill_it_in(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real_before = snapshot(PROJECT_ROOT / "data")
    assert main(["add-article", "call_forwarding_abroad", "--topic", "services", "--project", str(copy)]) == 0
    out = capsys.readouterr().out
    paths = {lang: copy / f"data/knowledge/{lang}/call_forwarding_abroad.md" for lang in LANGUAGE_NAMES}
    for language, path in paths.items():
        assert f"  data/knowledge/{language}/call_forwarding_abroad.md:3" in out
        text = path.read_text(encoding="utf-8")
        assert "topic: services\ndepartment: Customer service\n" in text
        assert f"link: https://help.mila-mobile.example/{language}/call_forwarding_abroad  # TODO" in text

    code, out = check(copy, capsys)
    assert code == 1
    placeholders = [line for line in out if "placeholder TODO(editor) not filled in yet" in line]
    for language in LANGUAGE_NAMES:  # title, link, 5 questions and the body, each at its line
        where = f"data/knowledge/{language}/call_forwarding_abroad.md"
        assert [line.split(": placeholder")[0] for line in placeholders if line.startswith(where)] == [
            f"{where}:{n}" for n in (3, 6, 8, 9, 10, 11, 12, 14)
        ]
    assert out[-1] == f"FIX {len(placeholders)} problems"

    for language, name in LANGUAGE_NAMES.items():
        path = paths[language]
        replace(path, f'"TODO(editor): the title in {name}"', "Call forwarding abroad")
        replace(path, "  # TODO(editor): check that this page exists, then delete this comment", "")
        replace(path, " (write 12 to 15, in the customer's words, each different)", "")
        for i, question in enumerate(FORWARDING[language], start=1):
            replace(path, f'"TODO(editor): customer question {i} in {name}"', f'"{question}"')
        replace(path, f"TODO(editor): the answer in {name}, as the assistant sends it", "Dial **21*number#")
    assert check(copy, capsys) == (0, ["PASS"])
    assert snapshot(PROJECT_ROOT / "data") == real_before


@pytest.mark.slow  # ~2 s: scaffolds, then runs the static check on a copy of the project
def test_an_article_without_a_topic_asks_for_topic_and_department(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["add-article", "esim_watch", "--project", str(copy)]) == 0
    capsys.readouterr()
    path = copy / "data/knowledge/fr/esim_watch.md"
    text = path.read_text(encoding="utf-8")
    assert 'topic: "TODO(editor): one of billing, coverage, sim, services, account, devices"' in text
    assert 'department: "TODO(editor): the department that owns this answer"' in text
    code, out = check(copy, capsys)
    assert "data/knowledge/fr/esim_watch.md:4: placeholder TODO(editor) not filled in yet" in out
    assert "data/knowledge/fr/esim_watch.md:5: placeholder TODO(editor) not filled in yet" in out
    assert not any("is not one of" in line for line in out)  # the placeholder is reported once
    replace(path, '"TODO(editor): one of billing, coverage, sim, services, account, devices"', "watches")
    code, out = check(copy, capsys)
    topics = "billing, coverage, sim, services, account, devices"
    assert f"data/knowledge/fr/esim_watch.md:4: topic 'watches' is not one of {topics}" in out


@pytest.mark.parametrize(
    ("article", "topic", "error"),
    [
        ("add_line", None, "article add_line already exists (data/knowledge/nl/add_line.md, "),
        ("billing_refund", None, "billing_refund is already an intent in domain.yml"),
        ("Call-Forwarding", None, "use lowercase letters, digits and _"),
        ("call_forwarding_abroad", "roaming", "topic 'roaming' is not one of billing, coverage"),
    ],
)
def test_refused_articles_change_nothing(copy: Path, article: str, topic: str | None, error: str) -> None:
    from bot.core.project import Project
    from bot.editor.scaffold import ScaffoldError, add_article

    def files() -> dict[str, bytes]:
        return {str(p): p.read_bytes() for p in (copy / "data").rglob("*") if p.is_file()}

    before = files()
    with pytest.raises(ScaffoldError, match=re.escape(error)):
        add_article(Project(copy), article, topic)
    assert files() == before


def test_make_article_target(copy: Path) -> None:
    command = ["make", "-s", "--no-print-directory", "article", f"PROJECT={copy}", "PY=" + sys.executable]
    result = subprocess.run(
        [*command, "ID=call_forwarding_abroad", "TOPIC=services"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "data/knowledge/en/call_forwarding_abroad.md:3" in result.stdout
    text = (copy / "data/knowledge/nl/call_forwarding_abroad.md").read_text(encoding="utf-8")
    assert "topic: services\n" in text and "TODO(editor)" in text
    result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "usage: make article ID=" in result.stdout
