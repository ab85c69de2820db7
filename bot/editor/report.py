"""The HTML report of `check --report DIR`: self-contained, pictures embedded as base64 PNGs."""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from pathlib import Path

from bot.core.project import LANGUAGES, Problem
from bot.editor.model import (
    LONGTAIL_ANSWERED,
    LONGTAIL_RIGHT,
    LONGTAIL_WRONG,
    TARGET_ACCURACY,
    TARGET_RETRIEVAL,
    Evaluation,
    Prediction,
    longtail_figures,
)

STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
.pass{color:#176b2c}.fix{color:#b00020}img{max-width:100%;border:1px solid #eee}code{background:#f4f4f4}"""


def write_report(folder: Path, problems: list[Problem], evaluation: Evaluation | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    verdict = "PASS" if not problems else f"FIX {len(problems)} problems"
    parts = [f"<h1 class='{'pass' if not problems else 'fix'}'>{verdict}</h1>", _problems(problems)]
    if evaluation is None:
        parts.append("<p>Model checks skipped (<code>--fast</code>).</p>")
    elif evaluation.predictions or evaluation.retrievals:
        parts.append(f"<p>model: <code>{html.escape(str(evaluation.model))}</code></p>")
        if evaluation.predictions:
            parts += [_language_section(evaluation, language) for language in LANGUAGES]
        if evaluation.retrievals or evaluation.longtail:
            parts.append(_help_centre_section(evaluation))
    page = folder / "index.html"
    body = "\n".join(parts)
    page.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>Assistant check: {verdict}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>",
        encoding="utf-8",
    )
    return page


def _problems(problems: list[Problem]) -> str:
    if not problems:
        return "<p>Nothing to fix.</p>"
    rows = "".join(
        f"<tr><td><code>{html.escape(p.path)}{':' + str(p.line) if p.line else ''}</code></td>"
        f"<td>{html.escape(p.message)}</td></tr>"
        for p in problems
    )
    return f"<h2>To fix</h2><table><tr><th>where</th><th>problem</th></tr>{rows}</table>"


def per_intent_scores(predictions: list[Prediction]) -> list[tuple[str, float, float, int]]:
    """(intent, accuracy, F1, messages) per intent, weakest first."""
    truth = Counter(p.example.intent for p in predictions)
    guessed = Counter(p.predicted for p in predictions)
    right = Counter(p.example.intent for p in predictions if p.ok)
    scores = []
    for intent, n in truth.items():
        recall = right[intent] / n
        precision = right[intent] / guessed[intent] if guessed[intent] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append((intent, recall, f1, n))
    return sorted(scores, key=lambda s: (s[2], s[1], s[0]))


def _language_section(evaluation: Evaluation, language: str) -> str:
    mine = [p for p in evaluation.predictions if p.example.language == language]
    if not mine:
        return f"<h2>{language}</h2><p>No held-out messages.</p>"
    accuracy = evaluation.accuracy(language) or 0.0
    mark = "pass" if accuracy >= TARGET_ACCURACY else "fix"
    weakest = per_intent_scores(mine)[:8]
    rows = "".join(
        f"<tr><td>{html.escape(i)}</td><td>{100 * a:.0f}%</td><td>{f:.2f}</td><td>{n}</td></tr>"
        for i, a, f, n in weakest
    )
    return (
        f"<h2>{language}: <span class='{mark}'>{100 * accuracy:.1f}%</span> held-out intent accuracy "
        f"(target {100 * TARGET_ACCURACY:.0f}%, {len(mine)} messages)</h2>"
        "<h3>Weakest intents</h3><table><tr><th>intent</th><th>accuracy</th><th>F1</th>"
        f"<th>messages</th></tr>"
        f"{rows}</table>{_img(_weakest_chart(weakest, language))}"
        f"<h3>Messages the model gets wrong</h3>{_wrong(mine)}"
        f"<h3>Confusion matrix</h3>{_img(_confusion_chart(mine, language))}"
    )


def _help_centre_section(evaluation: Evaluation) -> str:
    """Per language: how many article questions retrieve their article, the weakest articles,
    and the long-tail held-out figures against their targets (bench/longtail.py)."""
    parts = ["<h2>Help centre</h2>"]
    if evaluation.retrievals:
        rows = ""
        for language in LANGUAGES:
            share = evaluation.retrieval(language)
            if share is None:
                continue
            scores = evaluation.article_scores(language)
            below = [s for s in scores if s[2] < TARGET_RETRIEVAL * s[3]]
            mark = "pass" if not below else "fix"
            rows += (
                f"<tr><td>{language}</td><td>{100 * share:.1f}%</td>"
                f"<td>{sum(s[3] for s in scores)}</td><td>{len(scores)}</td>"
                f"<td class='{mark}'>{len(below)}</td></tr>"
            )
        parts.append(
            f"<h3>Retrieval: an article's own questions find it (target {100 * TARGET_RETRIEVAL:.0f}% "
            "per article)</h3><table><tr><th>language</th><th>questions retrieving their article</th>"
            f"<th>questions</th><th>articles</th><th>articles below target</th></tr>{rows}</table>"
        )
        weakest = [
            (language, *s)
            for language in LANGUAGES
            for s in evaluation.article_scores(language)[:5]
            if s[2] < s[3]
        ]
        if weakest:
            rows = "".join(
                f"<tr><td>{language}</td><td><code>{html.escape(path)}</code></td>"
                f"<td>{100 * right / n:.0f}%</td><td>{right} of {n}</td></tr>"
                for language, _article, path, right, n in weakest
            )
            parts.append(
                "<h3>Weakest articles</h3><table><tr><th>language</th><th>article</th>"
                f"<th>retrieval</th><th>questions</th></tr>{rows}</table>"
            )
        missed = [r for r in evaluation.retrievals if not r.ok]
        if missed:
            rows = "".join(
                f"<tr><td><code>{html.escape(r.path)}:{r.line}</code></td><td>{html.escape(r.question)}</td>"
                f"<td>{html.escape(r.read_as)} ({r.confidence:.2f})</td></tr>"
                for r in missed
            )
            parts.append(
                "<h3>Questions that do not find their article</h3><table><tr><th>where</th>"
                f"<th>question</th><th>model said</th></tr>{rows}</table>"
            )
    if evaluation.longtail:
        rows = ""
        for language in LANGUAGES:
            figures = longtail_figures(evaluation.longtail.get(language))
            if not figures:
                continue
            right, wrong, honest, n, answered, unanswerable = figures
            rows += (
                f"<tr><td>{language}</td><td>{n}</td>"
                f"<td class='{_mark(right >= LONGTAIL_RIGHT)}'>{100 * right:.1f}%</td>"
                f"<td class='{_mark(wrong <= LONGTAIL_WRONG)}'>{100 * wrong:.1f}%</td>"
                f"<td>{100 * honest:.1f}%</td><td>{unanswerable}</td>"
                f"<td class='{_mark(answered <= LONGTAIL_ANSWERED)}'>{100 * answered:.1f}%</td></tr>"
            )
        parts.append(
            "<h3>Long-tail held-out questions (<code>bench/heldout/longtail/</code>)</h3>"
            f"<p>Targets: right at least {100 * LONGTAIL_RIGHT:.0f}%, confidently wrong at most "
            f"{100 * LONGTAIL_WRONG:.0f}%, the rest honest (don't know, clarify, handover); unanswerable "
            f"questions answered anyway at most {100 * LONGTAIL_ANSWERED:.0f}%.</p>"
            "<table><tr><th>language</th><th>questions</th><th>right</th><th>wrong</th><th>honest</th>"
            f"<th>unanswerable</th><th>answered anyway</th></tr>{rows}</table>"
        )
    return "".join(parts)


def _mark(ok: bool) -> str:
    return "pass" if ok else "fix"


def _wrong(predictions: list[Prediction]) -> str:
    wrong = [p for p in predictions if not p.ok]
    if not wrong:
        return "<p>None.</p>"
    rows = "".join(
        f"<tr><td><code>{html.escape(p.example.path)}:{p.example.line}</code></td>"
        f"<td>{html.escape(p.example.value)}</td><td>{html.escape(p.example.intent)}</td>"
        f"<td>{html.escape(p.predicted)} ({p.confidence:.2f})</td></tr>"
        for p in wrong
    )
    return f"<table><tr><th>where</th><th>message</th><th>expected</th><th>model said</th></tr>{rows}</table>"


def _img(png: bytes) -> str:
    return f"<img alt='chart' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"


def _figure_png(figure: object) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(figure)  # type: ignore[arg-type]
    return buffer.getvalue()


def _weakest_chart(weakest: list[tuple[str, float, float, int]], language: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 0.35 * len(weakest) + 1))
    names = [w[0] for w in weakest][::-1]
    axes.barh(names, [w[2] for w in weakest][::-1], color="#d9822b")
    axes.set_xlim(0, 1)
    axes.set_xlabel("F1 on held-out messages")
    axes.set_title(f"{language}: weakest intents")
    return _figure_png(figure)


def _confusion_chart(predictions: list[Prediction], language: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({p.example.intent for p in predictions} | {p.predicted for p in predictions})
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for p in predictions:
        matrix[index[p.example.intent]][index[p.predicted]] += 1
    size = 0.28 * len(labels) + 2
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    axes.set_yticks(range(len(labels)), labels, fontsize=7)
    axes.set_xlabel("predicted")
    axes.set_ylabel("expected")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if count and i != j:
                axes.text(j, i, str(count), ha="center", va="center", color="#b00020", fontsize=7)
    axes.set_title(f"{language}: held-out confusion (off-diagonal = mistakes)")
    return _figure_png(figure)
