"""Slack's message formatting, both ways: mrkdwn in, plain text out, and safe text back in.

Slack delivers what a user typed with ``&``, ``<`` and ``>`` escaped and with every special
token in angle brackets (``<@U123>``, ``<#C1|general>``, ``<https://x|label>``, ``<!here>``),
so a literal angle bracket is never a token. What we send must be escaped the same way, or a
customer's ``<`` or a bot reply's ``&`` would be read as markup.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"<([^<>\n]*)>")
# *bold*, _italic_, ~strike~ around a run of text; a marker inside a word (snake_case) is text.
_MARKERS = [
    re.compile(rf"(?<![\w{m}]){m}(?![\s{m}])([^{m}\n]+?)(?<!\s){m}(?![\w{m}])") for m in (r"\*", "_", "~")
]
_HELD = re.compile("\x00(\\d+)\x00")
_SPACES = re.compile(r"[ \t]{2,}")
_BLANK_LINES = re.compile(r"\n{3,}")


def escape(text: str) -> str:
    """Text as Slack shows it verbatim in mrkdwn (only &, < and > are special)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mentions(text: str, user_id: str | None) -> bool:
    """Whether the message mentions this user (``<@U123>`` or ``<@U123|name>``)."""
    return bool(user_id) and re.search(rf"<@{re.escape(user_id or '')}(\|[^>]*)?>", text) is not None


def to_plain(text: str, *, bot_user_id: str | None = None, keep_urls: bool = False) -> str:
    """What a person reads in a Slack message, as plain text.

    The bot's own mention is removed; other mentions keep their label. A labelled link becomes
    its label (``keep_urls`` adds the address, for text forwarded to a customer who must be able
    to follow it). Formatting markers are dropped.
    """
    tokens: list[str] = []

    def hold(match: re.Match[str]) -> str:  # tokens wait aside so markers in a URL stay
        tokens.append(_token(match.group(1), bot_user_id, keep_urls))
        return f"\x00{len(tokens) - 1}\x00"

    plain = _TOKEN.sub(hold, (text or "").replace("\x00", ""))
    for marker in _MARKERS:
        plain = marker.sub(r"\1", plain)
    plain = unescape(_HELD.sub(lambda m: tokens[int(m.group(1))], plain))
    lines = [_SPACES.sub(" ", line).strip() for line in plain.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _token(body: str, bot_user_id: str | None, keep_urls: bool) -> str:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        return "" if target[1:] == bot_user_id or not label else f"@{label.lstrip('@')}"
    if target.startswith("#"):
        return f"#{label}" if label else ""
    if target.startswith("!"):
        return _special(target[1:], label)
    return _link(target, label, keep_urls)


def _special(name: str, label: str) -> str:
    """``<!here>``, ``<!subteam^S1|@team>``, ``<!date^1700000000^{date}|fallback>``."""
    if label:
        return label if label.startswith("@") or name.startswith("date") else f"@{label}"
    return f"@{name.split('^')[0]}"


def _link(url: str, label: str, keep_urls: bool) -> str:
    for scheme in ("mailto:", "tel:"):
        if url.startswith(scheme):
            return label or url[len(scheme) :]
    if not label or label == url:
        return url
    if keep_urls and label not in url:
        return f"{label} ({url})"
    return label
