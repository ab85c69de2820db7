"""A local fake of Telegram's Bot API for the real python-telegram-bot (``base_url=fake.base_url``).

python-telegram-bot POSTs form-encoded arguments to ``/bot<TOKEN>/<method>``. Every call is
recorded with its arguments; getMe, deleteWebhook, setWebhook, sendMessage, sendPhoto,
answerCallbackQuery and editMessageReplyMarkup are answered like Telegram does, and getUpdates
hands out queued updates (kept until a later ``offset`` confirms them, as Telegram does) or
long-polls briefly. Update builders make the JSON Telegram would send, for polling or a webhook.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from testkit.fakes.http_server import FakeServer, Recorded

JSON_ARGUMENTS = {"reply_markup", "allowed_updates", "link_preview_options", "reply_parameters"}
INT_ARGUMENTS = {"chat_id", "offset", "limit", "timeout", "message_id"}
BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Mila", "username": "mila_test_bot"}
_ESCAPED = re.compile(r"\\([\\_*\[\]()~`>#+\-=|{}.!])")


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]
    at: float  # time.monotonic() when it arrived

    @property
    def chat_id(self) -> int | None:
        return self.args.get("chat_id")

    @property
    def text(self) -> str:
        return str(self.args.get("text") or "")

    def buttons(self) -> list[list[dict[str, Any]]]:
        """Rows of the inline keyboard sent with this message ([] without one)."""
        return (self.args.get("reply_markup") or {}).get("inline_keyboard") or []

    def reply_keyboard(self) -> list[list[dict[str, Any]]]:
        """Rows of the reply keyboard (under the text field) sent with this message ([] without)."""
        return (self.args.get("reply_markup") or {}).get("keyboard") or []

    @property
    def removes_keyboard(self) -> bool:
        return bool((self.args.get("reply_markup") or {}).get("remove_keyboard"))


@dataclass
class Failure:
    method: str
    chat_id: int | None
    times: int
    code: int
    description: str


def unescape_markdown(text: str) -> str:
    """The text a customer sees for MarkdownV2 escaped with ``escape_markdown(..., version=2)``."""
    return _ESCAPED.sub(r"\1", text)


class FakeTelegram:
    def __init__(
        self, token: str = "123456:TEST-token", max_hold_s: float = 1.0, first_update_id: int = 10_000
    ) -> None:
        self.token = token
        self.max_hold_s = max_hold_s  # longest a getUpdates long poll is held open
        self.calls: list[Call] = []
        self.messages: dict[int, dict[str, Any]] = {}  # message_id -> message the bot sent
        self._pending: list[dict[str, Any]] = []
        self._failures: list[Failure] = []
        self._update_ids = itertools.count(first_update_id)  # unique per bot
        self._message_ids = itertools.count(1)
        self._changed = threading.Condition()
        self.server = FakeServer()
        self.server.route("POST", r"/bot[^/]+/\w+", self._handle)
        self.server.start()
        _quiet_disconnects(self.server)

    @property
    def base_url(self) -> str:
        """``telegram_api_url`` for the settings (python-telegram-bot appends the token)."""
        return f"{self.server.url}/bot"

    def stop(self) -> None:
        self.server.stop()

    def reset(self) -> None:
        """Forget calls, queued updates and planned failures (between tests)."""
        with self._changed:
            self.calls.clear()
            self.messages.clear()
            self._pending.clear()
            self._failures.clear()
            self._changed.notify_all()

    # -- what the tests do ---------------------------------------------------------------------

    def push(self, *updates: dict[str, Any]) -> None:
        """Queue updates for getUpdates (the same update twice is delivered twice)."""
        with self._changed:
            self._pending.extend(updates)
            self._changed.notify_all()

    def fail(
        self,
        method: str,
        *,
        chat_id: int | None = None,
        times: int = 1,
        code: int = 403,
        description: str = "Forbidden: bot was blocked by the user",
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id``) fail like Telegram does."""
        with self._changed:
            self._failures.append(Failure(method, chat_id, times, code, description))

    def calls_to(self, method: str, chat_id: int | None = None) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.method == method and chat_id in (None, c.chat_id)]

    def sent(self, chat_id: int) -> list[Call]:
        """The sendMessage calls to this chat, in order."""
        return self.calls_to("sendMessage", chat_id)

    def wait_for(
        self, method: str, chat_id: int | None = None, count: int = 1, timeout: float = 10.0
    ) -> list[Call]:
        """The calls once at least ``count`` have arrived; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [c for c in self.calls if c.method == method and chat_id in (None, c.chat_id)]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    break
                self._changed.wait(remaining)
        assert len(found) >= count, f"{count} x {method} to {chat_id} expected, got {len(found)}: {found}"
        return found

    # -- updates as Telegram sends them --------------------------------------------------------

    def next_update_id(self) -> int:
        return next(self._update_ids)

    def message_update(
        self, chat_id: int, *, language_code: str | None = "nl", chat_type: str = "private", **content: Any
    ) -> dict[str, Any]:
        """A new message from the user whose private chat is ``chat_id`` (same id, as on Telegram)."""
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, "first_name": "Test"},
            "from": user(chat_id, language_code),
            **content,
        }
        return {"update_id": self.next_update_id(), "message": message}

    def text_update(self, chat_id: int, text: str, *, language_code: str | None = "nl") -> dict[str, Any]:
        return self.message_update(chat_id, language_code=language_code, text=text)

    def contact_update(
        self, chat_id: int, phone_number: str, *, user_id: int | None, language_code: str | None = "nl"
    ) -> dict[str, Any]:
        """A shared contact: Telegram sets ``user_id`` to the account owning the number (None: no
        Telegram account), so the customer's own contact has their user id (= chat id here)."""
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": "Test"}
        if user_id is not None:
            contact["user_id"] = user_id
        return self.message_update(chat_id, language_code=language_code, contact=contact)

    def press(self, chat_id: int, title: str, *, language_code: str | None = "nl") -> dict[str, Any]:
        """The callback query of pressing the button titled ``title`` on the latest message showing it."""
        for message in reversed(list(self.messages.values())):
            if message["chat"]["id"] != chat_id:
                continue
            rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            button = next((b for row in rows for b in row if b["text"] == title), None)
            if button is not None:
                return {
                    "update_id": self.next_update_id(),
                    "callback_query": {
                        "id": f"cq-{self.next_update_id()}",
                        "from": user(chat_id, language_code),
                        "chat_instance": f"ci-{chat_id}",
                        "data": button["callback_data"],
                        "message": message,
                    },
                }
        raise AssertionError(f"no message to chat {chat_id} shows a button {title!r}")

    # -- the API -------------------------------------------------------------------------------

    def _handle(self, request: Recorded) -> tuple[int, Any]:
        token, method = request.path[len("/bot") :].rsplit("/", 1)
        args = _arguments(request)
        with self._changed:
            self.calls.append(Call(method, args, time.monotonic()))
            self._changed.notify_all()
            failure = self._planned_failure(method, args.get("chat_id"))
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        if failure is not None:
            return failure.code, {"ok": False, "error_code": failure.code, "description": failure.description}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(args)}
        answer = getattr(self, f"_{method}", None)
        if answer is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
        return 200, {"ok": True, "result": answer(args)}

    def _planned_failure(self, method: str, chat_id: int | None) -> Failure | None:
        for failure in self._failures:
            if failure.method == method and failure.chat_id in (None, chat_id) and failure.times > 0:
                failure.times -= 1
                return failure
        return None

    def _get_updates(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        offset = args.get("offset")
        deadline = time.monotonic() + min(float(args.get("timeout") or 0), self.max_hold_s)
        with self._changed:
            while True:
                if offset is not None:  # confirms (forgets) everything before it, as Telegram does
                    self._pending = [u for u in self._pending if u["update_id"] >= offset]
                remaining = deadline - time.monotonic()
                if self._pending or remaining <= 0:
                    return list(self._pending[: int(args.get("limit") or 100)])
                self._changed.wait(remaining)

    def _getMe(self, args: dict[str, Any]) -> Any:  # noqa: N802
        return {**BOT_USER, "can_join_groups": False, "can_read_all_group_messages": False}

    def _deleteWebhook(self, args: dict[str, Any]) -> Any:  # noqa: N802
        return True

    def _setWebhook(self, args: dict[str, Any]) -> Any:  # noqa: N802
        return True

    def _answerCallbackQuery(self, args: dict[str, Any]) -> Any:  # noqa: N802
        return True

    def _sendMessage(self, args: dict[str, Any]) -> Any:  # noqa: N802
        return self._new_message(args, text=args.get("text"))

    def _sendPhoto(self, args: dict[str, Any]) -> Any:  # noqa: N802
        photo = {"file_id": "photo-1", "file_unique_id": "photo-u1", "width": 320, "height": 240}
        return self._new_message(args, photo=[photo])

    def _editMessageReplyMarkup(self, args: dict[str, Any]) -> Any:  # noqa: N802
        message = self.messages.get(args.get("message_id") or -1)
        if message is None:
            return True
        message.pop("reply_markup", None)
        if args.get("reply_markup"):
            message["reply_markup"] = args["reply_markup"]
        return message

    def _new_message(self, args: dict[str, Any], **content: Any) -> dict[str, Any]:
        message_id = next(self._message_ids)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": args["chat_id"], "type": "private", "first_name": "Test"},
            "from": BOT_USER,
            **content,
        }
        if (args.get("reply_markup") or {}).get("inline_keyboard"):  # Telegram returns only those
            message["reply_markup"] = args["reply_markup"]
        with self._changed:
            self.messages[message_id] = message
        return message


def _quiet_disconnects(server: FakeServer) -> None:
    """A long poll the client gave up on (cancelled on stop) is no error worth a traceback."""
    http = server._server
    assert http is not None
    report = http.handle_error

    def handle_error(request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            report(request, client_address)

    http.handle_error = handle_error  # type: ignore[method-assign]


def user(user_id: int, language_code: str | None = "nl") -> dict[str, Any]:
    found = {"id": user_id, "is_bot": False, "first_name": "Test"}
    return {**found, "language_code": language_code} if language_code else found


def _arguments(request: Recorded) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        raw: dict[str, Any] = json.loads(request.body or b"{}")
    else:
        raw = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
    args: dict[str, Any] = {}
    for key, value in raw.items():
        if key in JSON_ARGUMENTS and isinstance(value, str):
            value = json.loads(value)
        elif key in INT_ARGUMENTS and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            value = int(value)
        args[key] = value
    return args


# --- for a latency benchmark --------------------------------------------------------------------


def round_trip(
    fake: FakeTelegram, chat_id: int, text: str, *, language_code: str = "nl", timeout: float = 15.0
) -> float:
    """Push a text update and wait for the bot's next sendMessage to that chat: seconds it took.

    Works against a running gateway whose Telegram channel polls ``fake``.
    """
    before = len(fake.sent(chat_id))
    started = time.monotonic()
    fake.push(fake.text_update(chat_id, text, language_code=language_code))
    answer = fake.wait_for("sendMessage", chat_id, count=before + 1, timeout=timeout)[before]
    return answer.at - started
