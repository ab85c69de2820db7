"""Chat with the running assistant from a terminal, as the web chat does: POST /api/chat for
what the customer writes, and the conversation's stream (GET /api/chat/stream) for what reaches
the customer outside an answer: an agent's replies and notices, the satisfaction question.

.venv/bin/python -m bot.cli [--url http://127.0.0.1:8000] [--sender me] [--locale fr-BE]

It starts with the opening message the web chat shows (GET /api/chat/welcome, in the locale's
language): the persona, what it can do, a privacy line and numbered choices, "talk to a person"
among them. Nothing is stored until the customer writes or picks a choice.

The first answer carries the conversation's token (and its sender: another one when the one asked
for is taken); the client sends the token with every later message, as X-Chat-Token, and with the
stream. Buttons are shown as numbered titles: typing the number presses the button (its payload
is sent, never shown); a newer message or a typed text makes older choices stale.

A token can stop opening its conversation (the customer's data was erased, or the session expired):
the gateway then answers 401 ``invalid_token`` (403 ``wrong_token`` if it belongs to another
sender). The client drops it, says so once in the customer's language, and starts a fresh
conversation: the message being sent goes again without the token (the gateway issues a new one),
and the stream of the old token is left.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import suppress
from typing import Any, TextIO

import httpx

from bot.core.settings import Settings

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "intro": "Typ je bericht (Ctrl-D om te stoppen). Kies een knop door zijn nummer te typen.",
        "unreachable": "Kan {url} niet bereiken: {error}",
        "failed": "Verzenden lukte niet: {message}",
        "bot": "(Digitale assistent)",
        "queued": "(Je wacht op een collega)",
        "agent": "(Een collega helpt je)",
        "closed": "(Het gesprek is afgesloten)",
        "restarted": "(Je vorige gesprek is niet meer beschikbaar; we beginnen een nieuw gesprek.)",
    },
    "fr": {
        "intro": "Écrivez votre message (Ctrl-D pour quitter). Choisissez un bouton en tapant son numéro.",
        "unreachable": "Impossible de joindre {url} : {error}",
        "failed": "L'envoi a échoué : {message}",
        "bot": "(Assistante numérique)",
        "queued": "(Un collègue va vous répondre)",
        "agent": "(Un collègue vous aide)",
        "closed": "(La conversation est terminée)",
        "restarted": (
            "(Votre conversation précédente n'est plus disponible ; une nouvelle conversation commence.)"
        ),
    },
    "en": {
        "intro": "Type a message (Ctrl-D to quit). Pick a button by typing its number.",
        "unreachable": "Cannot reach {url}: {error}",
        "failed": "Sending failed: {message}",
        "bot": "(Digital assistant)",
        "queued": "(Waiting for a colleague)",
        "agent": "(A colleague is helping you)",
        "closed": "(The conversation has ended)",
        "restarted": "(Your earlier conversation is no longer available; a new one starts.)",
    },
}
STREAM_RETRY_S = 2.0
REFUSED = frozenset({"invalid_token", "wrong_token"})  # the token no longer opens the conversation


def language_of(locale: str | None, default: str) -> str:
    lang = (locale or "")[:2].lower()
    return lang if lang in TEXTS else (default if default in TEXTS else "nl")


def refused(response: httpx.Response) -> bool:
    """The gateway refused the conversation token (bot/channels/chat_access.py)."""
    if response.status_code not in (401, 403):
        return False
    try:
        data = response.json()
    except ValueError:
        return False
    return isinstance(data, dict) and (data.get("error") or {}).get("code") in REFUSED


def render_buttons(buttons: list[dict[str, Any]]) -> str:
    """Numbered titles; the payloads ("/deny") are the client's business, never the customer's."""
    return "   ".join(f"{n}) {b.get('title') or ''}" for n, b in enumerate(buttons, start=1))


def render_message(message: dict[str, Any]) -> list[str]:
    """A reply or a pushed message as terminal lines: who speaks, the text, numbered choices."""
    lines = []
    if message.get("text"):
        if message.get("author") == "agent":
            lines.append(f"{message.get('agent') or 'agent'}> {message['text']}")
        elif message.get("event"):
            lines.append(f"-- {message['text']}")
        else:
            lines.append(f"bot> {message['text']}")
    if message.get("buttons"):
        lines.append("     " + render_buttons(message["buttons"]))
    return lines


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, str | None, Any]]:
    """(event, id, data) of a server-sent event stream; comments and retry lines are skipped."""
    name, event_id, data = "message", None, []
    for line in lines:
        if not line:
            if data:
                yield name, event_id, json.loads("\n".join(data))
            name, event_id, data = "message", None, []
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "id":
            event_id = value
        elif field == "data":
            data.append(value)


class Chat:
    """One terminal conversation: what is sent, what is shown, the live choices and the stream."""

    def __init__(self, http: httpx.Client, sender: str, locale: str | None, lang: str, out: TextIO) -> None:
        self.http, self.sender, self.locale, self.lang, self.out = http, sender, locale, lang, out
        self.token: str | None = None
        self.owner = "bot"
        self.choices: list[dict[str, Any]] = []
        self.last_id = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.followers: dict[str, threading.Thread] = {}  # one per token the client followed
        self.streams: dict[str, httpx.Response] = {}  # each follower's open stream

    def say(self, key: str, **values: str) -> None:
        self.show([TEXTS[self.lang][key].format(**values)])

    def show(self, lines: list[str]) -> None:
        with self.lock:
            for line in lines:
                print(line, file=self.out, flush=True)

    def welcome(self) -> None:
        """The opening message, its choices offered; none from a gateway that does not have it."""
        try:
            response = self.http.get("/api/chat/welcome", params={"locale": self.locale or ""})
        except httpx.HTTPError:
            return  # the first message says that the gateway cannot be reached
        if response.status_code != 200:
            return
        data = response.json()
        self.lang = language_of(data.get("language"), self.lang)
        for reply in data.get("replies") or []:
            self.show_message(reply)

    # -- what the customer writes -----------------------------------------------------------

    def send_line(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        with self.lock:
            choices, self.choices = self.choices, []  # answered: older choices are stale
        if text.isascii() and text.isdigit() and 1 <= int(text) <= len(choices):
            choice = choices[int(text) - 1]
            self.send(str(choice.get("payload") or choice.get("title")), str(choice.get("title") or ""))
        else:
            self.send(text, None)

    def send(self, text: str, title: str | None) -> None:
        body: dict[str, Any] = {"text": text, "locale": self.locale}
        if title:
            body["button_title"] = title  # the transcript shows what the customer pressed
        token = self.token
        response = self.post(body, token)
        if response is not None and token and refused(response):
            self.token_refused(token)  # then once more without it: a fresh conversation
            response = self.post(body, None)
        if response is None:
            return
        data = response.json() if response.content else {}
        if response.status_code != 200:
            self.say("failed", message=(data.get("error") or {}).get("message") or response.text)
            return
        self.answered(data)

    def post(self, body: dict[str, Any], token: str | None) -> httpx.Response | None:
        headers = {"X-Chat-Token": token} if token else {}
        try:
            return self.http.post("/api/chat", json={"sender": self.sender, **body}, headers=headers)
        except httpx.HTTPError as exc:
            self.say("unreachable", url=str(self.http.base_url), error=str(exc))
            return None

    def headers(self) -> dict[str, str]:
        return {"X-Chat-Token": self.token} if self.token else {}

    def token_refused(self, token: str) -> None:
        """The gateway no longer takes ``token``: forget it (and its cookie and stream) and say so,
        once, whoever noticed first (a message being sent, or the stream reconnecting)."""
        with self.lock:
            if self.token != token:
                return
            self.token, self.owner, self.last_id, self.choices = None, "bot", 0, []
        self.http.cookies.clear()  # the gateway page's cookie holds the same token
        _cut(self.streams.get(token))
        self.say("restarted")

    def answered(self, data: dict[str, Any]) -> None:
        self.sender = data.get("sender") or self.sender
        issued = data.get("token")
        self.lang = language_of(data.get("language"), self.lang)
        for reply in data.get("replies") or []:
            self.show_message(reply)
        self.owner_is(data.get("owner"))
        if issued and issued != self.token:
            self.token = issued
            self.catch_up()
            self.follow()

    # -- what reaches the customer --------------------------------------------------------

    def show_message(self, message: dict[str, Any]) -> None:
        with self.lock:
            self.choices = list(message.get("buttons") or [])  # a newer message supersedes
        self.show(render_message(message))

    def owner_is(self, owner: str | None) -> None:
        if owner and owner != self.owner:
            self.owner = owner
            if owner in TEXTS[self.lang]:
                self.say(owner)

    def catch_up(self) -> None:
        """Where the stream starts: after the conversation's newest message. Notices stored
        after the customer's last message (a quick agent's greeting) are shown first."""
        try:
            response = self.http.get("/api/chat/history", headers=self.headers())
        except httpx.HTTPError:
            return
        if response.status_code != 200:
            return
        history = response.json()
        messages = history.get("messages") or []
        last_customer = max((i for i, m in enumerate(messages) if m.get("author") == "customer"), default=-1)
        for message in messages[last_customer + 1 :]:
            if message.get("event") and message.get("author") != "customer":
                self.show_message(message)
        self.last_id = max(self.last_id, int(history.get("last_id") or 0))

    def follow(self) -> None:
        token = self.token
        if token and token not in self.followers:
            follower = threading.Thread(target=self.listen, args=(token,), name="chat-stream", daemon=True)
            self.followers[token] = follower
            follower.start()

    def following(self, token: str) -> bool:
        return not self.stopped.is_set() and self.token == token

    def listen(self, token: str) -> None:
        """Follow the stream of ``token``, reconnecting after the last message seen, until stopped
        or the token is no longer the conversation's (refused, or a new one issued)."""
        while self.following(token):
            params = {"after": str(self.last_id), "token": token}
            try:
                timeout = httpx.Timeout(10.0, read=None)
                with self.http.stream("GET", "/api/chat/stream", params=params, timeout=timeout) as response:
                    self.streams[token] = response
                    if response.status_code == 200:
                        self.read(response.iter_lines(), token)
                    elif refused(_read_body(response)):
                        self.token_refused(token)
            except (httpx.HTTPError, RuntimeError, OSError, ValueError):
                pass  # cut, or closed by stop(): try again unless stopped
            finally:
                self.streams.pop(token, None)
            self.stopped.wait(STREAM_RETRY_S)

    def read(self, lines: Iterable[str], token: str) -> None:
        for name, event_id, data in sse_events(lines):
            if not self.following(token):
                return
            if name == "message" and isinstance(data, dict):
                mid = int(data.get("id") or event_id or 0)
                if mid and mid <= self.last_id:
                    continue  # already shown
                self.last_id = max(self.last_id, mid)
                self.show_message(data)
            elif name == "owner" and isinstance(data, dict):
                self.owner_is(data.get("owner"))

    def stop(self) -> None:
        self.stopped.set()
        for response in list(self.streams.values()):
            _cut(response)
        for follower in list(self.followers.values()):
            follower.join(5)


def _cut(response: httpx.Response | None) -> None:
    """End a stream's blocking read: shut its socket down."""
    if response is None:
        return
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    with suppress(OSError):
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)


def _read_body(response: httpx.Response) -> httpx.Response:
    """A streamed response's body, read (an error's JSON)."""
    response.read()
    return response


def main(argv: list[str] | None = None, stdin: Iterable[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    settings = Settings.from_env()
    parser.add_argument("--url", default=settings.gateway_url)
    parser.add_argument("--sender", default=f"cli-{uuid.uuid4().hex[:8]}")
    parser.add_argument("--locale", default=None)
    args = parser.parse_args(argv)
    out = out or sys.stdout
    with httpx.Client(base_url=args.url, timeout=30) as http:
        chat = Chat(http, args.sender, args.locale, language_of(args.locale, settings.default_language), out)
        chat.say("intro")
        chat.welcome()
        try:
            for line in stdin if stdin is not None else sys.stdin:
                chat.send_line(line)
        finally:
            chat.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
