"""Command line for content editors (docs/editors.md).

python -m bot.editor check [--fast] [--report DIR] [--min-examples N] [--project DIR]
python -m bot.editor add-intent NAME [--topic billing|coverage|sim|sensitive] [--project DIR]
python -m bot.editor add-article ID [--topic billing|coverage|sim|services|account|devices] [--project DIR]
python -m bot.editor publish [--rasa-url URL] [--project DIR]
python -m bot.editor traffic list|assign|dismiss|export|trends ...  (learn from live traffic)
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from bot.core.knowledge import ARTICLE_TOPICS
from bot.core.project import Problem, Project
from bot.core.settings import PROJECT_ROOT
from bot.core.taxonomy import TOPICS
from bot.editor.static import DEFAULT_MIN_EXAMPLES, static_problems
from bot.editor.traffic import add_parser as add_traffic_parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    args = _parser().parse_args(argv)
    return int(args.run(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.editor", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(required=True, dest="command")
    check = commands.add_parser("check", help="find what an editor must fix (exit 1 when anything)")
    check.add_argument("--fast", action="store_true", help="static checks only (seconds, no model)")
    check.add_argument("--report", type=Path, help="write an HTML report into this folder")
    check.add_argument("--min-examples", type=int, default=DEFAULT_MIN_EXAMPLES)
    check.add_argument("--model", type=Path, help="evaluate this model instead of training one")
    check.set_defaults(run=run_check)
    add = commands.add_parser("add-intent", help="scaffold a new intent in all files and languages")
    add.add_argument("name")
    add.add_argument("--topic", choices=list(TOPICS))
    add.set_defaults(run=run_add_intent)
    article = commands.add_parser("add-article", help="scaffold a help-centre article in every language")
    article.add_argument("id", help="lowercase words joined by _, e.g. call_forwarding_abroad")
    article.add_argument("--topic", choices=list(ARTICLE_TOPICS))
    article.set_defaults(run=run_add_article)
    publish = commands.add_parser("publish", help="train if needed and load the model into running Rasa")
    publish.add_argument("--rasa-url", default=None, help="default: RASA_URL from the settings")
    publish.set_defaults(run=run_publish)
    for sub in (check, add, article, publish):
        sub.add_argument(
            "--project", type=Path, default=PROJECT_ROOT, help="project folder (default: this one)"
        )
    add_traffic_parser(commands)
    return parser


def run_check(args: argparse.Namespace) -> int:
    project = Project(args.project)
    problems = static_problems(project, args.min_examples)
    evaluation = None
    if not args.fast:
        from bot.editor.model import model_checks

        evaluation = model_checks(project, model=args.model)
        problems += evaluation.problems
    if args.report:
        from bot.editor.report import write_report

        page = write_report(args.report, problems, evaluation)
        print(f"report: {page}")
    print_verdict(problems, notes=evaluation.notes if evaluation else [])
    return 1 if problems else 0


def print_verdict(problems: list[Problem], notes: list[str] | None = None) -> None:
    for note in notes or []:
        print(note)
    for problem in problems:
        print(problem)
    print("PASS" if not problems else f"FIX {len(problems)} problem{'s' * (len(problems) != 1)}")


def run_add_intent(args: argparse.Namespace) -> int:
    from bot.editor.scaffold import add_intent

    return _scaffold(lambda: add_intent(Project(args.project), args.name, args.topic), args.name)


def run_add_article(args: argparse.Namespace) -> int:
    from bot.editor.scaffold import add_article

    return _scaffold(lambda: add_article(Project(args.project), args.id, args.topic), f"article {args.id}")


def _scaffold(add: Callable[[], list[tuple[str, int]]], added: str) -> int:
    """Runs a scaffold command and lists the placeholders it wrote; 2 when it refused."""
    from bot.editor.scaffold import ScaffoldError

    try:
        changed = add()
    except ScaffoldError as error:
        print(f"refused: {error}", file=sys.stderr)
        return 2
    print(f"added {added}; fill in every TODO(editor) placeholder in:")
    for path, line in changed:
        print(f"  {path}:{line}")
    print("then run: make check")
    return 0


def run_publish(args: argparse.Namespace) -> int:
    from bot.editor.publish import publish

    return publish(Project(args.project), args.rasa_url)


if __name__ == "__main__":
    sys.exit(main())
