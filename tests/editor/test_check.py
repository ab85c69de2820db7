"""`python -m bot.editor check`: every problem kind is found at the right file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.core.project import Example, Problem, Project
from bot.core.settings import PROJECT_ROOT, Settings
from bot.editor.__main__ import main
from bot.editor.model import (
    Evaluation,
    Prediction,
    Retrieval,
    confused_pairs,
    failed_stories,
    lookalike_articles,
    model_checks,
    retrieval_problems,
)
from bot.editor.report import write_report
from bot.editor.static import static_problems
from bot.rasa.training import ensure_model
from tests.helpers.project import copy_project

RESPONSES = {
    "utter_greet": {"nl": "Hallo", "fr": "Bonjour", "en": "Hello"},
    "utter_billing_refund": {"nl": "Terugbetaling", "fr": "Remboursement", "en": "Refund"},
    "utter_escalate_fraud": {
        "nl": "Een collega helpt je",
        "fr": "Un collègue vous aide",
        "en": "A colleague will help",
    },
}
EXAMPLES = {
    "nl": {
        "greet": ["hallo", "goeiedag"],
        "billing_refund": ["ik wil mijn geld terug", "dubbel betaald"],
        "sensitive_fraud": ["iemand gebruikt mijn nummer", "ik ben opgelicht"],
    },
    "fr": {
        "greet": ["bonjour", "salut"],
        "billing_refund": ["je veux être remboursé", "payé deux fois"],
        "sensitive_fraud": ["quelqu'un utilise mon numéro", "je suis victime d'une arnaque"],
    },
    "en": {
        "greet": ["hello", "hi there"],
        "billing_refund": ["I want my money back", "paid twice"],
        "sensitive_fraud": ["someone is using my number", "I got scammed"],
    },
}
RULES = """\
version: "3.1"
rules:
  - rule: greet
    steps:
      - intent: greet
      - action: utter_greet
  - rule: refund
    steps:
      - intent: billing_refund
      - action: utter_billing_refund
  - rule: fraud
    steps:
      - intent: sensitive_fraud
      - action: action_escalate
"""
LABELS = 'billing_refund: {nl: "Terugbetaling", fr: "Remboursement", en: "Refund"}\n'
HANDOFF = "reasons:\n  fraud: {priority: urgent, bot_answers_first: false}\n"
HELDOUT = 'en:\n  billing_refund:\n    - "can I get a refund"\n'


def nlu_file(examples: dict[str, list[str]]) -> str:
    blocks = ['version: "3.1"\nnlu:\n']
    for intent, texts in examples.items():
        blocks.append(f"- intent: {intent}\n  examples: |\n" + "".join(f"    - {t}\n" for t in texts))
    return "".join(blocks)


def domain_file(responses: dict[str, dict[str, str]]) -> str:
    """domain.yml: the three intents (lines 3-5), then each response with one variant a language,
    conditioned on the ``language`` slot (utter_greet at line 7, its "Hello" at line 13)."""
    blocks = ['version: "3.1"\nintents:\n  - greet\n  - billing_refund\n  - sensitive_fraud\nresponses:\n']
    for name, texts in responses.items():
        blocks.append(f"  {name}:\n")
        for language, text in texts.items():
            blocks.append(f"    - condition: [{{type: slot, name: language, value: {language}}}]\n")
            blocks.append(f'      text: "{text}"\n')
    return "".join(blocks)


def make_project(root: Path) -> Path:
    files = {
        "domain.yml": domain_file(RESPONSES),
        "data/rules.yml": RULES,
        "actions/intent_labels.yml": LABELS,
        "handoff/rules.yml": HANDOFF,
        "bench/heldout/billing.yml": HELDOUT,
    }
    for language, examples in EXAMPLES.items():
        files[f"data/nlu/{language}/topics.yml"] = nlu_file(examples)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def check(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, list[str]]:
    code = main(["check", "--fast", "--min-examples", "2", "--project", str(root), *extra])
    return code, capsys.readouterr().out.splitlines()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    """The 1-based line of the first line containing ``needle`` (editors move lines around)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if needle in line)


def test_a_complete_project_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check(make_project(tmp_path), capsys) == (0, ["PASS"])


def test_too_few_examples_points_at_the_intent_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(tmp_path)
    edit(root / "data/nlu/fr/topics.yml", "    - payé deux fois\n", "")
    code, out = check(root, capsys)
    assert code == 1
    assert out == [
        "data/nlu/fr/topics.yml:7: intent billing_refund has 1 fr examples, needs at least 2",
        "FIX 1 problem",
    ]


def test_an_intent_without_examples_in_a_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    edit(root / "data/nlu/en/topics.yml", "- intent: greet\n  examples: |\n    - hello\n    - hi there\n", "")
    code, out = check(root, capsys)
    assert code == 1
    assert (
        "domain.yml:3: intent greet has 0 en examples, needs at least 2 (add them under data/nlu/en/)" in out
    )


def test_a_response_without_a_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    edit(
        root / "domain.yml",
        '    - condition: [{type: slot, name: language, value: fr}]\n      text: "Bonjour"\n',
        "",
    )
    code, out = check(root, capsys)
    assert (code, out) == (
        1,
        ["domain.yml:7: response utter_greet has no variant for language fr", "FIX 1 problem"],
    )


def test_the_same_example_under_two_intents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    # another language, other case, trailing punctuation and an entity annotation: still the same
    edit(root / "data/nlu/nl/topics.yml", "    - goeiedag\n", "    - [Paid](place) TWICE !\n")
    code, out = check(root, capsys)
    assert code == 1
    assert out[0].startswith("data/nlu/en/topics.yml:10: example 'paid twice' of billing_refund is also an")
    assert "sensitive_fraud" not in out[0] and "greet (data/nlu/nl/topics.yml:6)" in out[0]
    assert out[1].startswith("data/nlu/nl/topics.yml:6: example '[Paid](place) TWICE !' of greet is also")
    assert out[2] == "FIX 2 problems"


def test_an_intent_in_no_rule_or_story(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    edit(root / "data/rules.yml", "      - intent: billing_refund\n", "")
    code, out = check(root, capsys)
    assert code == 1
    assert out[0] == "domain.yml:4: intent billing_refund is in no rule or story (add one to data/rules.yml)"


def test_a_topic_intent_without_a_complete_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    edit(root / "actions/intent_labels.yml", ', fr: "Remboursement"', "")
    code, out = check(root, capsys)
    assert (code, out[0]) == (1, "actions/intent_labels.yml:1: label of billing_refund misses language fr")
    (root / "actions/intent_labels.yml").write_text("# labels\n", encoding="utf-8")
    code, out = check(root, capsys)
    assert out[0] == "actions/intent_labels.yml: intent billing_refund has no button label (domain.yml:4)"


def test_a_sensitive_intent_needs_a_reason_and_an_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(tmp_path)
    edit(root / "handoff/rules.yml", "  fraud:", "  scam:")
    edit(root / "domain.yml", "  utter_escalate_fraud:", "  utter_escalate_scam:")
    code, out = check(root, capsys)
    assert code == 1
    assert out == [
        "domain.yml:5: intent sensitive_fraud needs a response utter_escalate_fraud (nl, fr and en)",
        "domain.yml:5: intent sensitive_fraud needs reason 'fraud' in handoff/rules.yml",
        "FIX 2 problems",
    ]


def test_placeholders_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    edit(root / "domain.yml", '"Hello"', '"TODO(editor): answer in English"')
    edit(root / "data/nlu/nl/topics.yml", "    - hallo\n", "    - hallo\n    - TODO(editor): voorbeeld\n")
    code, out = check(root, capsys)
    assert code == 1
    assert out == [
        "data/nlu/nl/topics.yml:6: placeholder TODO(editor) not filled in yet",
        "domain.yml:13: placeholder TODO(editor) not filled in yet",
        "FIX 2 problems",
    ]


def test_a_held_out_message_that_is_a_training_example(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(tmp_path)
    edit(root / "bench/heldout/billing.yml", "can I get a refund", "I want my money back!")
    code, out = check(root, capsys)
    assert code == 1
    assert out[0] == (
        "bench/heldout/billing.yml:3: held-out message 'I want my money back!' is also a training example "
        "(data/nlu/en/topics.yml:9)"
    )


def test_examples_of_an_intent_missing_from_the_domain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_project(tmp_path)
    edit(root / "data/nlu/nl/topics.yml", "- intent: greet", "- intent: greeting")
    code, out = check(root, capsys)
    assert code == 1
    assert "data/nlu/nl/topics.yml:3: intent greeting is not listed in domain.yml" in out


def test_the_minimum_defaults_to_15(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_project(tmp_path)
    code = main(["check", "--fast", "--project", str(root)])
    out = capsys.readouterr().out.splitlines()
    assert code == 1 and out[-1] == "FIX 9 problems"
    assert "data/nlu/en/topics.yml:3: intent greet has 2 en examples, needs at least 15" in out


def test_the_projects_own_data_passes_the_static_checks(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--fast", "--project", str(PROJECT_ROOT)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.strip().splitlines()[-1] == "PASS"


def test_the_command_line_exits_non_zero(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = make_project(tmp_path)
    (root / "data/rules.yml").write_text(textwrap.dedent('version: "3.1"\nrules: []\n'), encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.editor",
            "check",
            "--fast",
            "--min-examples",
            "2",
            "--project",
            str(root),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "FIX 3 problems"


# -- help-centre articles, on a copy of the project ---------------------------------------------


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    return copy_project(tmp_path)


def check_copy(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["check", "--fast", "--project", str(root)])
    return code, capsys.readouterr().out.splitlines()


def test_the_copy_passes(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_copy(copy, capsys) == (0, ["PASS"])


def test_article_fields_that_are_not_valid_yaml(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(copy / "data/knowledge/en/add_line.md", "title: Adding an", "title: Adding: an")
    code, out = check_copy(copy, capsys)
    assert (code, out) == (
        1,
        [
            "data/knowledge/en/add_line.md:3: the fields are not valid YAML: "
            "mapping values are not allowed here",
            "FIX 1 problem",
        ],
    )


def test_an_article_without_fields_or_body(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    article = copy / "data/knowledge/fr/add_line.md"
    fields, _body = article.read_text(encoding="utf-8").rsplit("---\n", 1)
    article.write_text(fields + "---\n\n", encoding="utf-8")
    body_line = fields.count("\n") + 2  # the line after the closing ---, wherever the questions end
    edit(copy / "data/knowledge/nl/add_line.md", "department: Customer service\n", "department:\n")
    edit(copy / "data/knowledge/en/add_line.md", "id: add_line", "id: add_lines")
    code, out = check_copy(copy, capsys)
    assert (code, out) == (
        1,
        [
            "data/knowledge/en/add_line.md:2: id 'add_lines' differs from the file name 'add_line'",
            f"data/knowledge/fr/add_line.md:{body_line}: the body (the answer the assistant sends) is empty",
            "data/knowledge/nl/add_line.md:5: field 'department' is missing or empty",
            "FIX 3 problems",
        ],
    )


def test_an_article_missing_a_language(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (copy / "data/knowledge/nl/add_line.md").unlink()
    code, out = check_copy(copy, capsys)
    assert (code, out) == (
        1,
        [
            "data/knowledge/fr/add_line.md:1: article 'add_line' has no nl version (nl/add_line.md)",
            "FIX 1 problem",
        ],
    )


def test_the_same_question_in_two_articles_or_an_intent(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # case and trailing punctuation do not make a question different; nor does the language
    edit(copy / "data/knowledge/nl/apn_settings_iphone.md", "  - apn iphone mila\n", '  - "Add a line?"\n')
    edit(copy / "data/knowledge/fr/add_line.md", '  - "ajouter une ligne"\n', '  - "I paid twice"\n')
    paid_twice = line_of(copy / "data/nlu/en/billing.yml", "- I paid twice")
    code, out = check_copy(copy, capsys)
    assert (code, out) == (
        1,
        [
            "data/knowledge/en/add_line.md:8: question 'add a line' of article add_line is also in "
            "article apn_settings_iphone (data/knowledge/nl/apn_settings_iphone.md:12)",
            "data/knowledge/fr/add_line.md:8: question 'I paid twice' of article add_line is also in "
            f"intent billing_refund (data/nlu/en/billing.yml:{paid_twice})",
            "data/knowledge/nl/apn_settings_iphone.md:12: question 'Add a line?' of article "
            "apn_settings_iphone is also in article add_line (data/knowledge/en/add_line.md:8)",
            f"data/nlu/en/billing.yml:{paid_twice}: example 'I paid twice' of intent billing_refund "
            "is also in article add_line (data/knowledge/fr/add_line.md:8)",
            "FIX 4 problems",
        ],
    )


def test_article_topic_department_link_and_id(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    en = copy / "data/knowledge/en/add_line.md"
    edit(en, "topic: account", "topic: roaming")
    edit(en, "link: https://", "link: http://")
    edit(copy / "data/knowledge/fr/add_line.md", "department: Customer service", "department: Billing")
    for language in ("nl", "fr", "en"):
        old = copy / f"data/knowledge/{language}/apn_settings_iphone.md"
        edit(old, "id: apn_settings_iphone", "id: greet")
        old.rename(old.with_name("greet.md"))
    code, out = check_copy(copy, capsys)
    assert code == 1
    assert out == [
        "data/knowledge/en/add_line.md:4: topic 'roaming' differs from the nl/fr version ('account'); "
        "an article has one in all languages",
        "data/knowledge/en/add_line.md:4: topic 'roaming' is not one of billing, coverage, sim, services, "
        "account, devices",
        "data/knowledge/en/add_line.md:6: link 'http://help.mila-mobile.example/en/add_line' must be a full "
        "https:// address",
        "data/knowledge/en/greet.md:2: id 'greet' is also an intent (domain.yml:5); choose another id",
        "data/knowledge/fr/add_line.md:5: department 'Billing' differs from the nl/en version "
        "('Customer service'); an article has one in all languages",
        "data/knowledge/fr/greet.md:2: id 'greet' is also an intent (domain.yml:5); choose another id",
        "data/knowledge/nl/greet.md:2: id 'greet' is also an intent (domain.yml:5); choose another id",
        "FIX 7 problems",
    ]


def test_an_id_declared_by_two_files(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(copy / "data/knowledge/en/add_line.md", "id: add_line", "id: change_plan")
    code, out = check_copy(copy, capsys)
    assert code == 1
    assert (
        "data/knowledge/en/add_line.md:2: id 'change_plan' is also used by data/knowledge/en/change_plan.md:2"
        in out
    )
    assert (
        "data/knowledge/en/change_plan.md:2: id 'change_plan' is also used by data/knowledge/en/add_line.md:2"
        in out
    )


def test_articles_need_the_knowledge_intent(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    edit(copy / "domain.yml", "  - knowledge\n", "")
    code, out = check_copy(copy, capsys)
    assert code == 1
    assert (
        "domain.yml: the help centre (data/knowledge/) needs the intent knowledge in the intents list" in out
    )


def test_a_long_tail_question_that_is_an_article_question(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    longtail = copy / "bench/heldout/longtail/en.yml"
    edit(longtail, "how much credit is left on my prepaid card pls", "put a second line on my account")
    code, out = check_copy(copy, capsys)
    assert code == 1
    assert out[0].startswith("bench/heldout/longtail/en.yml:")
    assert out[0].endswith(
        ": held-out message 'put a second line on my account' is also a training example "
        "(data/knowledge/en/add_line.md:12)"
    )


# -- model checks and the report ---------------------------------------------------------------


def prediction(
    intent: str, predicted: str, text: str = "x", language: str = "en", line: int = 1
) -> Prediction:
    return Prediction(Example(text, "bench/heldout/b.yml", line, intent, language), predicted, 0.6)


def test_intents_the_model_confuses_are_flagged_with_examples(tmp_path: Path) -> None:
    project = Project(make_project(tmp_path))
    predictions = [prediction("billing_refund", "billing_refund") for _ in range(6)]
    predictions += [
        prediction("billing_refund", "greet", "refund please"),
        prediction("billing_refund", "greet"),
    ]
    predictions += [prediction("greet", "greet") for _ in range(9)] + [prediction("greet", "billing_refund")]
    problems = confused_pairs(project, predictions)
    assert len(problems) == 1
    assert str(problems[0]).startswith(
        "domain.yml:4: intents billing_refund and greet look alike to the model: 2 of 8 held-out "
        "billing_refund messages read as greet, 1 the other way."
    )
    assert "'refund please'" in problems[0].message
    # one stray mistake is not a pattern
    assert confused_pairs(project, predictions[:7] + predictions[8:]) == []


def test_failed_test_conversations_point_at_the_story(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    (root / "tests/conversations").mkdir(parents=True)
    story = "stories:\n  - story: en refund\n    steps:\n      - user: |\n          money back\n"
    (root / "tests/conversations/test_en.yml").write_text(story, encoding="utf-8")
    failed = (
        'version: "3.1"\nstories:\n- story: en refund (/tmp/x/test_en.yml)\n  steps:\n'
        "  - intent: billing_refund  "
        "# predicted: greet: money back\n  - action: utter_billing_refund\n"
    )
    problems = failed_stories(Project(root), failed)
    assert [str(p) for p in problems] == [
        "tests/conversations/test_en.yml:2: test conversation 'en refund' fails: predicted: greet: money back"
    ]


def test_the_report_without_a_model(tmp_path: Path) -> None:
    evaluation = Evaluation(model=Path("m.tar.gz"))
    evaluation.predictions = [prediction("greet", "greet"), prediction("greet", "thanks", "hi <b>")]
    evaluation.predictions += [prediction("greet", "greet", language="nl")]
    page = write_report(tmp_path / "r", [Problem("domain.yml", 3, "intent greet <oops>")], evaluation)
    text = page.read_text(encoding="utf-8")
    assert "FIX 1 problems" in text and "intent greet &lt;oops&gt;" in text and "hi &lt;b&gt;" in text
    assert text.count("data:image/png;base64,") == 4  # nl and en: weakest intents + confusion matrix
    assert "http" not in text  # self-contained, no CDN
    assert "fr: </h2>" not in text and "No held-out messages" in text


def retrieval(
    article: str, predicted: str | None, language: str = "en", intent: str = "knowledge", line: int = 8
) -> Retrieval:
    path = f"data/knowledge/{language}/{article}.md"
    return Retrieval(article, language, f"q{line}", path, line, intent, predicted, 0.7)


def test_articles_their_questions_do_not_find_are_flagged(tmp_path: Path) -> None:
    project = Project(copy_project(tmp_path))
    found = [retrieval("add_line", "add_line") for _ in range(4)]
    found += [retrieval("add_line", "change_plan", line=9), retrieval("add_line", None, intent="greet")]
    found += [retrieval("add_line", "add_line", language="fr") for _ in range(5)]
    problems = retrieval_problems(project, found)
    assert [str(p) for p in problems] == [
        "data/knowledge/en/add_line.md:7: article add_line: only 4 of its 6 en questions retrieve it (67%, "
        "needs 80%). Make them more specific, or the articles/intents they go to more distinct. "
        "e.g. 'q9' -> article change_plan; 'q8' -> greet"
    ]
    assert retrieval_problems(project, found[:5]) == []  # 4 of 5: 80% is enough


def test_articles_whose_questions_go_to_each_other_look_alike(tmp_path: Path) -> None:
    project = Project(copy_project(tmp_path))
    found = [retrieval("add_line", "add_line") for _ in range(6)] + [retrieval("add_line", "change_plan")] * 2
    found += [retrieval("change_plan", "change_plan") for _ in range(3)] + [
        retrieval("change_plan", "add_line")
    ]
    (problem,) = lookalike_articles(project, found)
    assert str(problem) == (
        "data/knowledge/en/add_line.md:7: articles add_line and change_plan look alike to the model: 2 of 8 "
        "en questions of add_line retrieve change_plan, 1 of 4 the other way "
        "(data/knowledge/en/change_plan.md:7). Make their questions more distinct, or merge the articles"
    )
    # one way only, or in another language, is no look-alike
    assert lookalike_articles(project, found[:-1] + [retrieval("change_plan", "change_plan")]) == []
    other = [*found[:-1], retrieval("change_plan", "add_line", language="fr")]
    assert lookalike_articles(project, other) == []


def test_the_report_shows_the_help_centre_figures(tmp_path: Path) -> None:
    evaluation = Evaluation(model=Path("m.tar.gz"))
    evaluation.retrievals = [retrieval("add_line", "add_line"), retrieval("add_line", "x<y>", line=9)]
    evaluation.retrievals += [retrieval("sim_swap", "sim_swap", language="nl")]
    evaluation.longtail = {
        "en": {"n": 100, "right": 90, "wrong": 3, "honest": 7, "unanswerable": 20, "answered_anyway": 1},
        "nl": {"n": 0},
    }
    text = write_report(tmp_path / "r", [], evaluation).read_text(encoding="utf-8")
    assert "<h2>Help centre</h2>" in text
    assert "<tr><td>en</td><td>50.0%</td><td>2</td><td>1</td><td class='fix'>1</td></tr>" in text
    assert "<tr><td>nl</td><td>100.0%</td>" in text
    assert "data/knowledge/en/add_line.md:9" in text and "article x&lt;y&gt;" in text
    assert (
        "<tr><td>en</td><td>100</td><td class='pass'>90.0%</td><td class='fix'>3.0%</td><td>7.0%</td>"
        "<td>20</td><td class='pass'>5.0%</td></tr>"
    ) in text
    assert "http" not in text.replace("https://", "")


# The editors' check step of `make test` (scripts/test.sh) runs these same checks on the same
# model and writes the same report: in make test this runs once (about 6 minutes), there.
@pytest.mark.rasa
@pytest.mark.rasa_check
def test_model_checks_and_report_on_the_trained_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Held-out evaluation, the help centre's retrieval and long-tail figures and the report with
    the project's model (trained by `make test` when missing)."""
    model = ensure_model(Settings.from_env({}).model_dir, quiet=True)
    project = Project(PROJECT_ROOT)
    evaluation = model_checks(project, model=model, steps=("heldout", "articles"))
    assert all((evaluation.accuracy(lang) or 0) >= 0.95 for lang in ("nl", "fr", "en")), evaluation.notes
    # every article question once, in every language; the 80% per article is the check's to judge
    assert len(evaluation.retrievals) > 3000
    assert all((evaluation.retrieval(lang) or 0) > 0.5 for lang in ("nl", "fr", "en")), evaluation.notes
    assert all(evaluation.longtail[lang]["n"] > 50 for lang in ("nl", "fr", "en"))
    assert sum(n.startswith("note: [") for n in evaluation.notes) == 6  # retrieval + long tail per language
    page = write_report(tmp_path / "report", static_problems(project) + evaluation.problems, evaluation)
    text = page.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == 6
    assert "held-out intent accuracy" in text
    assert "Retrieval: an article's own questions find it" in text and "Long-tail held-out" in text


# -- publish -----------------------------------------------------------------------------------


def test_publish_refuses_unfinished_data_and_sends_put_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.editor.publish import publish
    from testkit.fakes.http_server import FakeServer

    server = FakeServer()
    server.route("PUT", "/model", lambda r: (204, None))
    server.start()
    monkeypatch.setenv("RASA_TOKEN", "s3cret")
    model = tmp_path / "assistant-abc.tar.gz"
    model.write_bytes(b"model")
    try:
        code = publish(Project(make_project(tmp_path / "p")), server.url, model=model)
    finally:
        server.stop()
    assert code == 1  # the tiny project has fewer than 15 examples per intent: nothing is published
    assert server.requests == []
    server = FakeServer()
    server.route("PUT", "/model", lambda r: (204, None))
    server.start()
    try:
        from bot.editor.publish import load_model

        assert load_model(server.url, model, "s3cret") == 204
    finally:
        server.stop()
    (request,) = server.requests
    assert request.json() == {"model_file": str(model)}
    assert request.query == {"token": ["s3cret"]}
    capsys.readouterr()


def test_publish_end_to_end_with_a_fake_rasa(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.editor.publish import publish
    from testkit.fakes.http_server import FakeServer

    server = FakeServer()
    server.route("PUT", "/model", lambda r: (204, None))
    server.start()
    monkeypatch.delenv("RASA_TOKEN", raising=False)
    model = tmp_path / "assistant-abc.tar.gz"
    model.write_bytes(b"model")
    root = make_project(tmp_path / "p")
    monkeypatch.setattr("bot.editor.publish.static_problems", lambda project: [])
    try:
        assert publish(Project(root), server.url, model=model) == 0
    finally:
        server.stop()
    assert [r.json() for r in server.requests] == [{"model_file": str(model)}]
    assert f"published assistant-abc.tar.gz to {server.url}" in capsys.readouterr().out


@pytest.mark.rasa
def test_parsing_in_batches_gives_what_parse_message_gives() -> None:
    """The check parses thousands of texts through the NLU graph in batches (parse_all)."""
    import asyncio

    from rasa.core.agent import Agent

    from bot.rasa.longtail import parse_all

    model = ensure_model(Settings.from_env({}).model_dir, quiet=True)
    texts = ["hallo", "ik wil een extra lijn", "roaming in Marokko", "xqzt", "mijn factuur is te hoog"]
    texts += ["puis-je garder mon numéro", "how do I set up my eSIM", "I was scammed", "?"]
    batched = asyncio.run(parse_all(model, texts, batch=4))
    agent = Agent.load(str(model))
    single = [asyncio.run(agent.parse_message(text)) for text in texts]
    for one, many in zip(single, batched, strict=True):
        assert many["intent"]["name"] == one["intent"]["name"]
        assert many["intent"]["confidence"] == pytest.approx(one["intent"]["confidence"], abs=1e-4)
        assert (many.get("article") or {}).get("id") == (one.get("article") or {}).get("id")
        assert [e["name"] for e in many["intent_ranking"]] == [e["name"] for e in one["intent_ranking"]]
        assert many["entities"] == one["entities"] and many["text"] == one["text"]


# -- topics a customer can name without a question (data/topics.yml) ------------------------------


def test_topic_problems_and_examples_that_only_name_a_topic(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(copy / "data/topics.yml", "      nl: [factuur, facturen, rekening, facturatie]\n", "")
    topics, billing = copy / "data/topics.yml", copy / "data/nlu/nl/billing.yml"
    edit(topics, "[billing_payment_methods, billing_due_date,", "[billing_pay_now, billing_due_date,")
    example = "    - hoe betaal ik de factuur\n"
    edit(billing, example, example + "    - vraag over betalingen aub\n")
    code, out = check_copy(copy, capsys)
    assert code == 1
    assert out == [
        "data/nlu/nl/billing.yml:123: 'vraag over betalingen aub' only names the topic payment: "
        "the assistant shows that topic's menu (data/topics.yml)",
        "data/topics.yml:30: topic bill: no words in nl",
        "data/topics.yml:36: topic payment: intent billing_pay_now is not in domain.yml",
        "FIX 3 problems",
    ]
