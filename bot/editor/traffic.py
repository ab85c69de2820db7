"""`traffic`: learn from live traffic (docs/editors.md, "Learning from live traffic").

The messages the assistant did not understand, that were out of scope or that ended in an
escalation because the bot failed, grouped by similarity; an editor assigns them to an intent
(or dismisses them) and exports them as training examples into ``data/nlu/<lang>/traffic.yml``.
``trends`` shows the messages per day and topic, and the surge alerts.

The databases are the ones of the running assistant (``Settings.from_env()``); the project
folder (``--project``) is where the intents are read and the examples written.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.core.db import NLU_TURN_STATUSES
from bot.core.settings import PROJECT_ROOT, SUPPORTED_LANGUAGES

if TYPE_CHECKING:
    from bot.insights import Insights, TrafficGroup, Trends

TRAFFIC_FILE = "traffic.yml"
HEADER = 'version: "3.1"\nnlu:\n'
SAMPLES = 3


class TrafficFileError(ValueError):
    """The traffic file of a language cannot be merged into (not Rasa NLU YAML)."""


def add_parser(commands: Any) -> None:
    """The ``traffic`` command and its subcommands, on the editor CLI's subparsers."""
    traffic = commands.add_parser("traffic", help="messages the bot did not handle, topic trends")
    sub = traffic.add_subparsers(required=True, dest="traffic_command")
    listing = sub.add_parser("list", help="sync, then list the unhandled messages grouped by similarity")
    listing.add_argument("--days", type=_positive, default=7, help="of the last N days (default 7)")
    listing.add_argument("--language", choices=SUPPORTED_LANGUAGES)
    listing.add_argument("--status", choices=NLU_TURN_STATUSES, default="new")
    listing.add_argument("--limit", type=_positive, default=2000, help="newest N messages (default 2000)")
    listing.set_defaults(action=run_list)
    assign = sub.add_parser("assign", help="assign messages to an intent: traffic assign INTENT ID...")
    assign.add_argument("intent")
    assign.add_argument("ids", nargs="+", type=int, metavar="ID")
    assign.set_defaults(action=run_assign)
    dismiss = sub.add_parser("dismiss", help="set messages aside: not training material")
    dismiss.add_argument("ids", nargs="+", type=int, metavar="ID")
    dismiss.set_defaults(action=run_dismiss)
    export = sub.add_parser("export", help="the assigned messages as training data (--write: into the data)")
    export.add_argument("--language", choices=SUPPORTED_LANGUAGES)
    export.add_argument(
        "--write", action="store_true", help=f"add them to data/nlu/<lang>/{TRAFFIC_FILE} and mark them"
    )
    export.set_defaults(action=run_export)
    trends = sub.add_parser("trends", help="messages per day and topic, and the surge alerts")
    trends.add_argument("--days", type=_positive, default=14, help="the last N days (default 14)")
    trends.add_argument("--language", choices=SUPPORTED_LANGUAGES)
    trends.add_argument("--channel", help="web, telegram, slack, ...")
    trends.set_defaults(action=run_trends)
    for command in (listing, assign, dismiss, export, trends):
        command.add_argument(
            "--project", type=Path, default=PROJECT_ROOT, help="project folder (default: this one)"
        )
    for command in (assign, dismiss):
        command.add_argument("--by", default=None, help="who decides (default: your user name)")
    traffic.set_defaults(run=run_traffic)


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run_traffic(args: argparse.Namespace) -> int:
    """Open the databases, run the subcommand; a problem is a message on stderr and exit 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.core.db import create_db_engine, init_schema
    from bot.core.settings import Settings, SettingsError
    from bot.insights import Insights, InsightsError, open_tracker_engine

    try:
        settings = Settings.from_env()
        engine = create_db_engine(settings.database_url)
        tracker = open_tracker_engine(settings.rasa_tracker_url)
    except (SettingsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        init_schema(engine)
        return int(args.action(Insights(settings, engine, tracker, project_root=args.project), args))
    except (InsightsError, TrafficFileError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except SQLAlchemyError as error:
        print(f"error: database: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    finally:
        tracker.dispose()
        engine.dispose()


# -- list, assign, dismiss ----------------------------------------------------------------------


def run_list(insights: Insights, args: argparse.Namespace) -> int:
    added = insights.sync()
    since = datetime.now(timezone.utc) - timedelta(days=args.days)
    groups = insights.unhandled(since=since, language=args.language, status=args.status, limit=args.limit)
    count = sum(len(g.items) for g in groups)
    print(
        f"{len(groups)} group{'s' * (len(groups) != 1)}, {count} message{'s' * (count != 1)} "
        f"({args.status}, last {args.days} days{', ' + args.language if args.language else ''}; "
        f"{added} new from the assistant)"
    )
    for number, group in enumerate(groups, start=1):
        print()
        print(format_group(number, group))
    if groups and args.status == "new":
        print()
        print("next: python -m bot.editor traffic assign INTENT ID...   (or: traffic dismiss ID...)")
    return 0


def format_group(number: int, group: TrafficGroup) -> str:
    reasons = ", ".join(f"{reason} {n}" for reason, n in group.reasons.items())
    head = f"#{number} {group.language}  {len(group.items)} message{'s' * (len(group.items) != 1)}"
    head += f"  ({reasons})  suggestion: {group.suggestion or '-'}"
    lines = [head, f'    "{group.label}"']
    samples = []
    for item in group.items:
        if item.text != group.label and item.text not in samples:
            samples.append(item.text)
    lines += [f"    - {text}" for text in samples[:SAMPLES]]
    ids = " ".join(str(item.id) for item in sorted(group.items, key=lambda i: i.id))
    lines += textwrap.wrap(f"ids: {ids}", width=100, initial_indent="    ", subsequent_indent="         ")
    return "\n".join(lines)


def run_assign(insights: Insights, args: argparse.Namespace) -> int:
    changed = insights.assign(args.ids, args.intent, _who(args))
    print(f"{changed} message{'s' * (changed != 1)} assigned to {args.intent}")
    if changed < len(set(args.ids)):
        print("(messages already dismissed or exported, or unknown ids, are left as they are)")
    print("then: python -m bot.editor traffic export --write")
    return 0


def run_dismiss(insights: Insights, args: argparse.Namespace) -> int:
    changed = insights.dismiss(args.ids, _who(args))
    print(f"{changed} message{'s' * (changed != 1)} dismissed")
    return 0


def _who(args: argparse.Namespace) -> str:
    if args.by:
        return str(args.by)
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "editor"


# -- export -------------------------------------------------------------------------------------


def run_export(insights: Insights, args: argparse.Namespace) -> int:
    if not args.write:
        files = insights.export(language=args.language, mark=False)
        if not files:
            print("nothing to export: no message is assigned to an intent and not exported yet")
        for language, text in files.items():
            print(
                f"# {language}: python -m bot.editor traffic export --write adds these to "
                f"data/nlu/{language}/{TRAFFIC_FILE}"
            )
            print(text)
        return 0
    items = insights.pending_exports(args.language)
    examples = insights.training_examples(items)
    paths = [write_examples(Path(args.project), lang, examples[lang]) for lang in sorted(examples)]
    insights.mark_exported([item.id for item in items])
    if not items:
        print("nothing to export: no message is assigned to an intent and not exported yet")
        return 0
    for path in paths:
        print(path)
    added = sum(len(texts) for by_intent in examples.values() for texts in by_intent.values())
    print(f"{added} example{'s' * (added != 1)} added ({len(items) - added} already in the training data)")
    print("next: make check   (then make publish)")
    return 0


def write_examples(root: Path, language: str, examples: dict[str, list[str]]) -> Path:
    """Add examples to ``data/nlu/<language>/traffic.yml``: under the intent's existing block
    when there is one, else in a new block at the end. The file is edited as text, so comments
    and formatting stay; it is created with the version header when missing."""
    path = root / "data" / "nlu" / language / TRAFFIC_FILE
    if not path.exists() or not path.read_text(encoding="utf-8").strip():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(HEADER, encoding="utf-8")
    original = path.read_text(encoding="utf-8")
    lines = original.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    blocks, indent = _intent_blocks(path, original)
    inserts, appended = [], []
    for intent in sorted(examples):
        if intent in blocks:
            at, example_indent = blocks[intent]
            inserts.append((at, "".join(f"{example_indent}- {text}\n" for text in examples[intent])))
        else:
            appended.append(
                f"{indent}- intent: {intent}\n{indent}  examples: |\n"
                + "".join(f"{indent}    - {text}\n" for text in examples[intent])
            )
    for at, block in sorted(inserts, reverse=True):
        lines[at:at] = [block]
    path.write_text("".join(lines + appended), encoding="utf-8")
    try:
        yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        path.write_text(original, encoding="utf-8")
        raise TrafficFileError(f"{path}: could not add the examples, the file was left as it was") from error
    return path


def _intent_blocks(path: Path, text: str) -> tuple[dict[str, tuple[int, str]], str]:
    """intent -> (index of the line after its last example, indentation of its examples) for
    each ``examples: |`` block, and the indentation of the ``nlu:`` items."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as error:
        raise TrafficFileError(f"{path} is not valid YAML: {error}") from error
    nlu = _value(root, "nlu")
    if isinstance(nlu, ScalarNode) and nlu.value == "":  # "nlu:" with nothing under it yet
        return {}, ""
    if not isinstance(nlu, SequenceNode):
        raise TrafficFileError(f"{path} has no nlu: list")
    lines = text.splitlines()
    blocks: dict[str, tuple[int, str]] = {}
    for item in nlu.value:
        intent, examples = _value(item, "intent"), _value(item, "examples")
        if not isinstance(intent, ScalarNode) or not isinstance(examples, ScalarNode):
            continue
        content = str(examples.value).rstrip("\n").splitlines()
        if examples.style != "|" or not content or str(intent.value) in blocks:
            continue  # only literal blocks can be extended line by line; others get a new block
        last = examples.start_mark.line + len(content)  # 0-based line of the last example
        example_indent = lines[last][: len(lines[last]) - len(lines[last].lstrip())]
        blocks[str(intent.value)] = (last + 1, example_indent)
    indent = " " * nlu.value[0].start_mark.column if nlu.value else ""
    return blocks, indent


def _value(node: Node | None, key: str) -> Node | None:
    if not isinstance(node, MappingNode):
        return None
    for key_node, value in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == key:
            return value
    return None


# -- trends -------------------------------------------------------------------------------------


def run_trends(insights: Insights, args: argparse.Namespace) -> int:
    insights.sync()
    trends = insights.trends(days=args.days, language=args.language, channel=args.channel)
    print(format_trends(trends))
    return 0


def format_trends(trends: Trends) -> str:
    """A table of messages per day (rows) and topic (columns), then the alerts."""
    series = trends.per_topic()
    topics = list(series)
    widths = [max(len(t), 5) for t in topics]
    lines = ["day         " + " ".join(t.rjust(w) for t, w in zip(topics, widths, strict=True)) + "  total"]
    for index, day in enumerate(trends.days):
        values = [series[t][index] for t in topics]
        cells = " ".join(str(v).rjust(w) for v, w in zip(values, widths, strict=True))
        lines.append(f"{day.isoformat()}  {cells}  {sum(values):5d}")
    lines.append("")
    if not trends.alerts:
        lines.append("no surge alerts in this period")
    for alert in trends.alerts:
        lines.append(
            f"alert {alert.window_start:%Y-%m-%d %H:%M}-{alert.window_end:%H:%M} UTC  {alert.topic}: "
            f"{alert.count} messages (usually {alert.baseline:.1f}) -> {alert.department}; "
            f"top: {', '.join(alert.top_intents) or '-'}"
        )
    return "\n".join(lines)
