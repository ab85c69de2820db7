"""Thin client for the Rasa server's HTTP API (REST channel, NLU parse, status)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, f"{self._base}{path}", params=self._params, **kwargs)
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
        return [BotMessage.from_rest(item) for item in payload if isinstance(item, dict)]

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


def action_server_healthy(url: str, http: httpx.Client, timeout_s: float = 2.0) -> bool:
    """True when the Rasa SDK action server answers its /health endpoint."""
    try:
        response = http.get(f"{url.rstrip('/')}/health", timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return response.status_code == 200
