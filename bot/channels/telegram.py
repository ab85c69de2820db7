"""Telegram customers, served inside the gateway's process and event loop (python-telegram-bot).

Updates arrive by long polling, or on ``POST /telegram/webhook`` (checked against Telegram's
secret-token header, bot/channels/telegram_webhook.py) when ``TELEGRAM_WEBHOOK_URL`` is set. Each
update is handled once (:class:`UpdateLog`), in order within a chat and concurrently across chats.
While the database is away, updates wait in the spool and are handled once it is back; the
customer gets the apology in their app's language meanwhile (bot/channels/update_spool.py).

- Text goes through the router as the customer's message (``language_code`` seeds the language
  of a new conversation); button presses send their payload the same way. /start, Telegram's
  first message when someone opens the bot, is answered with the opening message (persona, what
  the bot does, privacy, topic buttons and "talk to a person"; bot/core/welcome.py).
- A shared location asks Rasa for the coverage at the nearest known place.
- The question for the mobile number offers Telegram's "share my number" button; the customer's
  own contact proves the number (bot/channels/telegram_contact.py), someone else's proves nothing.
- Other media get a "text only" reply in the customer's language; nothing is stored.

Bot replies, agent replies, notices and the satisfaction question (through
:class:`handoff.delivery.Delivery`) go out with sendMessage: MarkdownV2, escaped, split under
Telegram's length limit, quick replies as an inline keyboard (bot/channels/telegram_format.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from telegram import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.channels.common import ChannelContext, UpdateLog, run_on_loop
from bot.channels.telegram_contact import MARKUP, ContactProof, share_keyboard, with_share_button
from bot.channels.telegram_format import (
    HASHED_PAYLOAD,
    MAX_TEXT_UNITS,
    button_payload,
    button_title,
    callback_data,
    keyboard,
    markdown,
    split_text,
    utf16_units,
)
from bot.channels.telegram_webhook import SECRET_TOKEN, WEBHOOK_PATH, apology_target, webhook_answer
from bot.channels.update_spool import RecentKeys, Record, UpdateSpool
from bot.connectors.accounts import account_service
from bot.connectors.coverage import CoverageProvider, CoverageUnavailable, coverage_provider, demo_provider
from bot.core.identity import Identity
from bot.core.language import locale_language
from bot.core.settings import Settings, SettingsError
from bot.core.store import Conversation
from bot.core.texts import text as customer_text
from bot.router import IncomingMessage, InvalidMessage

log = logging.getLogger(__name__)

CHANNEL = "telegram"
ALLOWED_UPDATES = ["message", "callback_query"]
POLL_TIMEOUT_S = 10


class TelegramDeliveryError(RuntimeError):
    """A message could not be handed to the Bot API; the text is never part of the error."""


# --- payloads ---------------------------------------------------------------------------------


def location_payload(lat: float, lon: float, provider: CoverageProvider | None = None) -> str:
    """The Rasa intent payload asking for the coverage at a shared location.

    Far from every known place, or when the provider (the channel passes the configured one; the
    demo data when None) cannot place coordinates, the coordinates go as the place, which the
    action answers with "unknown place" or "coverage unavailable" (they never look like a name
    or a postcode).
    """
    nearest = getattr(provider or demo_provider(), "nearest", None)
    try:
        place = nearest(lat, lon) if callable(nearest) else None
    except CoverageUnavailable:
        place = None
    value = place.key if place else f"{lat:.2f}, {lon:.2f}"
    return "/coverage_check_place" + json.dumps({"place": value}, ensure_ascii=False)


def describe(exc: BaseException) -> str:
    """An error for the logs: Telegram's description, never the text we tried to send."""
    if isinstance(exc, TelegramError):
        return f"{type(exc).__name__}: {exc.message}"
    return type(exc).__name__


# --- the channel ------------------------------------------------------------------------------


class ChatLocks:
    """One lock per chat, dropped when nobody holds or waits for it: a chat's updates stay in order."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, chat_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat_id, (asyncio.Lock(), 0))
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users == 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)


class _RedactToken(logging.Filter):
    """httpx logs every request URL at INFO, and the Bot API puts the bot's token in the URL."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.token in message:
            record.msg, record.args = message.replace(self.token, "<telegram-token>"), ()
        return True


class TelegramChannel:
    name = CHANNEL

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.webhook_mode = bool(settings.telegram_webhook_url)
        self._context: ChannelContext | None = None
        self._app: Application | None = None
        self._updates: UpdateLog | None = None
        self._locks = ChatLocks()
        self._redact = _RedactToken(settings.telegram_token or "")
        self._background: set[asyncio.Task[Any]] = set()
        self._contacts: ContactProof | None = None
        self._share_shown: set[int] = set()  # chats showing the "share my number" keyboard
        self._spool: UpdateSpool | None = None
        self._apologised = RecentKeys()

    # -- lifecycle -------------------------------------------------------------------------

    def routes(self) -> APIRouter | None:
        if not self.webhook_mode:
            return None
        router = APIRouter()
        router.add_api_route(WEBHOOK_PATH, self._webhook, methods=["POST"], include_in_schema=False)
        return router

    async def start(self, context: ChannelContext) -> None:
        self._check_settings()
        self._context, self._updates = context, UpdateLog(context.engine)
        self._spool = UpdateSpool(self.settings.var_dir, CHANNEL, context.engine, self._apologise)
        accounts = account_service(self.settings)
        self._contacts = ContactProof(self.settings, Identity(context.engine), accounts, context.store)
        logging.getLogger("httpx").addFilter(self._redact)
        app = self._build()
        try:
            await app.initialize()  # getMe: fails here on a wrong token
            await app.start()
            if self.webhook_mode:
                await app.bot.set_webhook(
                    f"{self.settings.telegram_webhook_url}{WEBHOOK_PATH}",
                    secret_token=self.settings.telegram_secret_token,
                    allowed_updates=ALLOWED_UPDATES,
                )
            else:
                assert app.updater is not None
                await app.updater.start_polling(timeout=POLL_TIMEOUT_S, allowed_updates=ALLOWED_UPDATES)
        except BaseException:
            await self._shut_down(app)
            logging.getLogger("httpx").removeFilter(self._redact)
            raise
        self._app = app
        self._spool.start(self._replay)
        context.delivery.register(CHANNEL, self)

    async def stop(self) -> None:
        if self._spool is not None:
            await self._spool.stop()
        app, self._app = self._app, None
        if app is not None:
            await self._shut_down(app)
        logging.getLogger("httpx").removeFilter(self._redact)

    def _check_settings(self) -> None:
        settings = self.settings
        if not settings.telegram_token:
            raise SettingsError("TELEGRAM_TOKEN is required for the Telegram channel")
        if not self.webhook_mode:
            return
        secret = settings.telegram_secret_token
        if not secret:
            raise SettingsError(
                "TELEGRAM_SECRET_TOKEN is required when TELEGRAM_WEBHOOK_URL is set: without it "
                "anyone could post fake updates to the webhook"
            )
        if not SECRET_TOKEN.fullmatch(secret):
            raise SettingsError("TELEGRAM_SECRET_TOKEN must be 1-256 characters of A-Z, a-z, 0-9, _ and -")

    def _build(self) -> Application:
        builder = (
            ApplicationBuilder()
            .token(self.settings.telegram_token or "")
            .base_url(self.settings.telegram_api_url)
            .concurrent_updates(True)  # ordered per chat by ChatLocks
            .job_queue(None)  # the [job-queue] extra cannot be installed next to rasa
            .connect_timeout(5.0)
            .read_timeout(10.0)
            .write_timeout(10.0)
            # getUpdates has a pool of its own; with one connection, a long poll cancelled on stop
            # can keep it, and the final getUpdates confirming the fetched updates then times out.
            .get_updates_connection_pool_size(2)
        )
        if self.webhook_mode:
            builder = builder.updater(None)
        app = builder.build()
        app.add_handler(TypeHandler(Update, self._on_update))
        app.add_error_handler(self._on_error)
        return app

    @staticmethod
    async def _shut_down(app: Application) -> None:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()  # ends with getUpdates(timeout=0) to confirm what was fetched
        if app.running:
            await app.stop()  # waits for updates being handled
        await app.shutdown()

    # -- webhook and spool ---------------------------------------------------------------

    async def _webhook(self, request: Request) -> Response:
        return await webhook_answer(request, self.settings.telegram_secret_token, self._app, self._spool)

    async def _replay(self, record: Record) -> None:
        """A spooled update, handled as if it had just arrived (bot/channels/update_spool.py)."""
        assert self._app is not None
        await self._on_update(Update.de_json(record["update"], self._app.bot), None)

    async def _apologise(self, record: Record) -> None:
        """The apology for a spooled update, in the app's language (the conversation's is in the
        database), once per update."""
        assert self._app is not None
        update = Update.de_json(record["update"], self._app.bot)
        target = apology_target(update)
        if target is None or not self._apologised.first(str(update.update_id)):
            return
        chat_id, language_code = target
        language = locale_language(language_code) or self.settings.default_language
        apology = [{"text": customer_text("rasa_unavailable", language)}]
        await self._quietly(self._send(chat_id, apology), "sendMessage", chat_id)

    # -- incoming updates ------------------------------------------------------------------

    async def _on_update(self, update: Update, _context: ContextTypes.DEFAULT_TYPE | None) -> None:
        """One update, once; kept in the spool if the database goes away meanwhile."""
        chat = update.effective_chat
        async with self._locks.hold(chat.id if chat else 0):
            assert self._spool is not None
            await self._spool.guarded({"update": update.to_dict()}, self._handle(update))

    async def _handle(self, update: Update) -> None:
        assert self._updates is not None
        if not await run_in_threadpool(self._updates.first_time, CHANNEL, update.update_id):
            log.info("telegram update %s already handled", update.update_id)
            return
        await self._dispatch(update)

    async def _dispatch(self, update: Update) -> None:
        if update.callback_query is not None:
            await self._on_button(update.callback_query)
            return
        message = update.message  # edited messages, channel posts...: nothing to answer
        if message is None or message.chat.type != ChatType.PRIVATE or message.from_user is None:
            log.debug("telegram update %s ignored", update.update_id)
            return
        if message.text:
            await self._on_text(message)
        elif message.location is not None:
            location = message.location
            provider = coverage_provider(self.settings)
            payload = location_payload(location.latitude, location.longitude, provider)
            key = message_key(message)
            await self._route(message.chat.id, message.from_user, payload, channel_payload=True, key=key)
        elif message.contact is not None:
            await self._on_contact(message)
        elif message.effective_attachment is not None:
            await self._answer(message.chat.id, message.from_user, "telegram_text_only")

    async def _on_text(self, message: Message) -> None:
        assert message.text is not None and message.from_user is not None
        text = message.text
        opening = text == "/start" or text.startswith("/start ")  # when someone opens the bot: welcome
        await self._route(message.chat.id, message.from_user, text, opening=opening, key=message_key(message))

    async def _on_contact(self, message: Message) -> None:
        """A shared contact: proof of the number when it is the customer's own (telegram_contact.py)."""
        assert message.contact is not None and message.from_user is not None and self._contacts
        chat_id, user = message.chat.id, message.from_user
        outcome = await run_in_threadpool(self._contacts.prove, str(chat_id), user.id, message.contact)
        if outcome.payload:
            language = await run_in_threadpool(self._language_of, str(chat_id), user.language_code)
            title = customer_text("telegram_share_number", language)
            extra, key = {"button_title": title}, message_key(message)
            await self._route(chat_id, user, outcome.payload, extra, channel_payload=True, key=key)
        elif outcome.answer:
            await self._answer(chat_id, user, outcome.answer, share=outcome.share_again)

    async def _on_button(self, query: CallbackQuery) -> None:
        message = query.message
        chat_id = message.chat.id if message is not None else None
        await self._quietly(query.answer(), "answerCallbackQuery", chat_id)  # stops the spinner
        if message is None or message.chat.type != ChatType.PRIVATE or not query.data:
            return
        seen = message if isinstance(message, Message) else None  # None: too old to be shown
        if seen is not None and seen.reply_markup is not None:
            # A button answers once: a stale one pressed later would start something unexpected.
            await self._quietly(query.edit_message_reply_markup(None), "editMessageReplyMarkup", chat_id)
        payload = await run_in_threadpool(self._resolve_payload, str(message.chat.id), query.data)
        if payload is None:
            log.info("telegram: button of chat %s no longer known", message.chat.id)
            return
        title = button_title(seen, query.data) if seen is not None else None
        extra = {"button_title": title} if title else {}
        await self._route(
            message.chat.id, query.from_user, payload, extra, key=f"{CHANNEL}:button:{query.id}"
        )

    def _resolve_payload(self, sender: str, data: str) -> str | None:
        if not data.startswith(HASHED_PAYLOAD):
            return data
        assert self._context is not None
        store = self._context.store
        conv = store.latest_conversation(CHANNEL, sender)
        for message in reversed(store.transcript(conv.id) if conv else []):
            for button in (message.get("payload") or {}).get("buttons") or []:
                if callback_data(button_payload(button)) == data:
                    return button_payload(button)
        return None

    async def _route(
        self,
        chat_id: int,
        user: User,
        text: str,
        extra: dict[str, Any] | None = None,
        *,
        channel_payload: bool = False,
        opening: bool = False,
        key: str | None = None,
    ) -> None:
        """The customer's message through the router (stored once under ``key``, see
        :func:`message_key`); its replies back to the chat."""
        assert self._context is not None
        metadata = {"telegram_user_id": user.id, **(extra or {})}
        incoming = IncomingMessage(
            CHANNEL, str(chat_id), text, user.language_code, metadata, channel_payload, source_key=key
        )
        router = self._context.router
        try:
            result = await run_in_threadpool(router.start if opening else router.handle, incoming)
        except InvalidMessage as exc:
            if exc.too_large:
                await self._answer(chat_id, user, "telegram_too_long", max=self.settings.max_message_chars)
            return
        replies = with_share_button(result.replies, result.language)
        await self._quietly(self._send(chat_id, replies), "sendMessage", chat_id)

    async def _answer(
        self, chat_id: int, user: User, key: str, *, share: bool = False, **values: Any
    ) -> None:
        """A gateway text in the customer's language, not stored (nothing was taken in); with
        ``share``, under the "share my number" button."""
        language = await run_in_threadpool(self._language_of, str(chat_id), user.language_code)
        reply: dict[str, Any] = {"text": customer_text(key, language).format(**values)}
        if share:
            reply[MARKUP] = share_keyboard(language)
        await self._quietly(self._send(chat_id, [reply]), "sendMessage", chat_id)

    def _language_of(self, sender: str, language_code: str | None) -> str:
        """The conversation's language if there is one, else the app's language, else the default."""
        assert self._context is not None
        conv = self._context.store.latest_conversation(CHANNEL, sender)
        if conv is not None:
            return conv.language
        return locale_language(language_code) or self.settings.default_language

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id if isinstance(update, Update) else None
        error = context.error
        log.error(
            "telegram update %s failed: %s",
            update_id,
            describe(error) if error else "unknown error",
            exc_info=None if isinstance(error, TelegramError) else error,
        )

    # -- outgoing messages -----------------------------------------------------------------

    def send(
        self, conversation: Conversation, replies: list[dict[str, Any]], sender_name: str | None
    ) -> None:
        """Delivery's sender, called from worker threads: agent replies, notices, CSAT question."""
        if self._app is None or self._context is None:
            raise TelegramDeliveryError("the Telegram channel is not running")
        chat_id = int(conversation.sender)
        coroutine = self._send(chat_id, replies, sender_name)
        loop = self._context.loop
        if _running_loop() is loop:  # on the loop itself, waiting for the result would deadlock
            task = loop.create_task(self._quietly(coroutine, "sendMessage", chat_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return
        try:
            run_on_loop(loop, coroutine)
        except TelegramError as exc:
            raise TelegramDeliveryError(f"sending to chat {chat_id} failed: {describe(exc)}") from None

    async def _send(
        self, chat_id: int, replies: list[dict[str, Any]], sender_name: str | None = None
    ) -> None:
        assert self._app is not None, "the Telegram channel is not running"
        bot = self._app.bot
        reserve = utf16_units(sender_name) + 1 if sender_name else 0
        for reply in replies:
            if reply.get("image") and str(reply["image"]).startswith(("https://", "http://")):
                await bot.send_photo(chat_id, photo=str(reply["image"]))
                if not reply.get("text") and not reply.get("buttons"):
                    continue
            pieces = split_text(reply.get("text") or "", MAX_TEXT_UNITS - reserve)
            for index, piece in enumerate(pieces):
                last = index == len(pieces) - 1
                await bot.send_message(
                    chat_id,
                    markdown(piece, sender_name if index == 0 else None),
                    parse_mode=ParseMode.MARKDOWN_V2,
                    reply_markup=self._markup(chat_id, reply) if last else None,
                )

    def _markup(
        self, chat_id: int, reply: dict[str, Any]
    ) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
        """The reply's buttons; the "share my number" keyboard, which the next reply without
        buttons removes (it stays under the text field until then, even when the number was typed)."""
        if reply.get(MARKUP) is not None:
            self._share_shown.add(chat_id)
            return reply[MARKUP]
        if reply.get("buttons") or chat_id not in self._share_shown:
            return keyboard(reply.get("buttons"))
        self._share_shown.discard(chat_id)
        return ReplyKeyboardRemove()

    async def _quietly(self, coroutine: Coroutine[Any, Any, Any], method: str, chat_id: int | None) -> None:
        """Await a Bot API call; a failure is logged (without the text) and the chat goes on."""
        try:
            await coroutine
        except TelegramError as exc:
            log.warning("telegram %s to chat %s failed: %s", method, chat_id, describe(exc))


def message_key(message: Message) -> str:
    """A message's key at its source: its chat and its id in that chat, the same in every copy of
    the update (a webhook retry, a replay of the spool), whatever the update's own id."""
    return f"{CHANNEL}:{message.chat.id}:{message.message_id}"


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
