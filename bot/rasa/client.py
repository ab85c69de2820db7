"""Thin client for the Rasa server's HTTP API (REST channel, NLU parse, status)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx


class RasaUnavailable(RuntimeError):
    """Rasa did not answer usably (down, timed out, or an error status)."""


@dataclass(frozen=True)
class BotMessage:
    """One reply of the bot as the REST channel returns it."""

    text: str | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)
    image: str | None = None
    custom: dict[str, Any] | None = None

    @classmethod
    def from_rest(cls, item: dict[str, Any]) -> BotMessage:
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in item.get("buttons") or []
            if isinstance(b, dict)
        ]
        return cls(
            text=item.get("text"),
            buttons=buttons,
            image=item.get("image"),
            custom=item.get("custom"),
        )

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text}
        if self.buttons:
            data["buttons"] = self.buttons
        if self.image:
            data["image"] = self.image
        if self.custom:
            data["custom"] = self.custom
        return data


def with_custom_folded(messages: list[BotMessage]) -> list[BotMessage]:
    """The REST channel sends a response's ``custom`` part as a message of its own, right after
    the text: it is folded back into that reply (a channel reads it there, e.g. Telegram's
    "share my number" keyboard for ``{"ask": "phone_number"}``). A custom part with nothing
    before it stays a message of its own."""
    folded: list[BotMessage] = []
    for message in messages:
        custom_only = message.custom and not (message.text or message.buttons or message.image)
        if custom_only and folded and not folded[-1].custom:
            previous = folded[-1]
            folded[-1] = BotMessage(previous.text, previous.buttons, previous.image, message.custom)
        else:
            folded.append(message)
    return folded


_BRIEF = {"include_events": "NONE"}  # a tracker's state without its events


def _tracker_path(sender: str) -> str:
    return f"/conversations/{quote(sender, safe='')}/tracker"


class RasaClient:
    """Talks to one Rasa server. Reuses one pooled HTTP client (keep-alive)."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout_s: float = 15.0,
        http: httpx.Client | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._params = {"token": token} if token else {}
        self._http = http or httpx.Client(
            timeout=httpx.Timeout(timeout_s, connect=2.0),
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    def close(self) -> None:
        self._http.close()

    def _request(
        self, method: str, path: str, params: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        try:
            response = self._http.request(
                method, f"{self._base}{path}", params={**self._params, **(params or {})}, **kwargs
            )
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"{method} {path}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise RasaUnavailable(f"{method} {path}: HTTP {response.status_code}")
        return response

    def send_message(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        """Send a user message through the REST channel; returns the bot's replies."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        payload = self._request("POST", "/webhooks/rest/webhook", json=body).json()
        if not isinstance(payload, list):
            raise RasaUnavailable("REST channel returned something other than a list")
        return with_custom_folded([BotMessage.from_rest(item) for item in payload if isinstance(item, dict)])

    def set_slot(self, sender: str, name: str, value: Any, *, only_if_tracked: bool = False) -> bool:
        """Append a slot event to a conversation; returns False when nothing was set.

        With ``only_if_tracked`` a conversation Rasa has never seen is left alone: its first
        message starts a session, and ``action_session_start`` reads the message metadata.
        (An event appended to an empty tracker would stop that session from starting.) Rasa
        3.6 answers the GET of an unseen conversation with a session it starts in memory, so
        ``latest_event_time`` is always set: a conversation is known by a customer message.
        Appending to such a tracker started a session in the default language whose events
        sort after the slot: "can we speak English?" answered by the router, then "my 4g
        doesn't work" got the Dutch answer.
        """
        if only_if_tracked and not (self._tracker(sender).get("latest_message") or {}).get("text"):
            return False
        event = {"event": "slot", "name": name, "value": value}
        self._request("POST", f"{_tracker_path(sender)}/events", params=_BRIEF, json=event)
        return True

    def active_loop(self, sender: str) -> str | None:
        """The form a conversation is in (the bot waits for its answer), or None."""
        return (self._tracker(sender).get("active_loop") or {}).get("name") or None

    def _tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker without its events."""
        return self._request("GET", _tracker_path(sender), params=_BRIEF).json()

    def parse(self, text: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        """NLU only: intent, entities and ranking for ``text``."""
        body: dict[str, Any] = {"text": text}
        if metadata:
            body["metadata"] = metadata
        return self._request("POST", "/model/parse", json=body).json()

    def status(self) -> dict[str, Any]:
        """Server status; raises :class:`RasaUnavailable` when no model is loaded."""
        data = self._request("GET", "/status").json()
        if not data.get("model_id") and not data.get("model_file"):
            raise RasaUnavailable("Rasa is up but has no model loaded")
        return data


class ActionServerClient:
    """Thin client for the Rasa SDK action server (only its health: Rasa itself calls it)."""

    def __init__(self, base_url: str, http: httpx.Client | None = None, timeout_s: float = 2.0) -> None:
        self._base = base_url.rstrip("/")
        self._http = http or httpx.Client(timeout=timeout_s)
        self._timeout = timeout_s

    def healthy(self) -> bool:
        try:
            response = self._http.get(f"{self._base}/health", timeout=self._timeout)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
