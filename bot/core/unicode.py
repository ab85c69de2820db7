"""Text that every database and encoder can hold.

JSON may spell a lone UTF-16 surrogate (``"\\ud800"``); Python keeps it in a ``str``, but it is no
character: UTF-8 cannot encode it, so SQLite, PostgreSQL and every HTTP client fail on it.
:func:`well_formed` replaces each with U+FFFD, the replacement character, as a browser does.
(A proper pair, ``"\\ud83d\\ude00"``, is already one character when parsed, so it is kept.)

:func:`fold` is the one way text is compared without case and accents ("Liège" = "liege"),
by the help centre's BM25, the coverage place names and the classifier's cues;
:func:`plain_words` also drops punctuation, for matching short customer phrases (a typed button
title, "laat maar"). :func:`without_markup` reads a message pasted with HTML tags as its words.
"""

from __future__ import annotations

import html
import re
import unicodedata

REPLACEMENT = "\ufffd"
_NOT_WORD = re.compile(r"[^\w]+")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# A tag of an HTML element a pasted message carries: "<b>", "</p>", "<br/>", '<a href="x">'; not
# "<3", "a < b" or a word the customer put in brackets ("mijn <abonnement>", "<naam>").
_ELEMENTS = (
    "a|abbr|b|big|blockquote|body|br|button|center|code|del|div|em|font|form|h[1-6]|head|hr|html|i|"
    "iframe|img|input|ins|label|li|link|mark|meta|ol|p|pre|q|s|script|small|span|strike|strong|style|"
    "sub|sup|table|tbody|td|th|thead|title|tr|u|ul"
)
_TAG = re.compile(rf"</?(?:{_ELEMENTS})(?:\s[^<>]*)?/?>", re.IGNORECASE)
# A script's or a style sheet's content is code, not the customer's words ("<script>alert(1)
# </script> bonjour" was read as a voicemail question, not a greeting).
_CODE_ELEMENT = re.compile(r"<(script|style)(?:\s[^<>]*)?>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def well_formed(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (the same object when there is none)."""
    return _LONE_SURROGATE.sub(REPLACEMENT, text) if _LONE_SURROGATE.search(text) else text


def without_markup(text: str) -> str:
    """The words of a message pasted with HTML tags ("<b>hoe</b> activeer ik mijn esim" was a
    question the classifier could not read, and the second misunderstanding in a row handed the
    customer over), entities written out. Text without tags (a word in angle brackets is no tag:
    it is what the customer wrote), or with nothing but tags, is returned as it is: the
    transcript keeps what was typed either way."""
    if not _TAG.search(text):
        return text
    words = " ".join(html.unescape(_TAG.sub(" ", _CODE_ELEMENT.sub(" ", text))).split())
    return words or text


def fold(text: str) -> str:
    """Lower case without accents: customers type "facture" and "factuur", "resilier", "Liege"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def plain_words(text: str) -> str:
    """Folded words joined by one space: case, accents, punctuation and spacing do not count."""
    return " ".join(_NOT_WORD.sub(" ", fold(text)).split())
