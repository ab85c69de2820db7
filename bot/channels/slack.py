"""Business customers on Slack: they DM the app or mention it in a channel.

Slack posts events and button clicks to ``POST /slack/events``; the bolt app checks the
signature and its timestamp (forged, malformed or older than five minutes: 401; a correctly
signed body that is no Slack payload: 400, see :func:`handle_signed`), acknowledges at once and
handles the message in the background, so Slack never times out and retries. A retried or
duplicated event is handled once (its ``event_id`` in :class:`UpdateLog`). While the database is
away, events and clicks wait in the spool and are handled once it is back; a customer who wrote
in a DM or mentioned the app gets the apology in their Slack locale meanwhile
(bot/channels/slack_http.py, bot/channels/update_spool.py).

Decisions:

* Conversations: a DM is the customer's own conversation, sender ``"{team}:{user}"``. A mention
  in a channel opens a conversation *of that channel*, sender ``"{team}:{user}:{channel}"``:
  what is said in a DM must never be continued (by the bot or an agent) in a channel that
  colleagues read, and a channel's conversation must not leak into the DM either.
* Threads: the bot answers in the thread of the message (its ``thread_ts``, else its ``ts``);
  that thread is stored as the conversation's ``slack_thread`` ref, so agent replies, notices
  and the satisfaction question arrive where the customer last wrote. In a channel, a reply in
  such a thread by the same customer continues the conversation without a new mention.
* Private, not public: in a channel, a personal question or a message with personal data
  (bot/channels/private.py) is routed in the customer's DM conversation instead; the DM gets the
  answer (conversations.open, then chat.postMessage), the channel only "I've sent you a private
  message". Without a DM (no ``im:write`` scope, Slack down) the channel is told to write a DM.
* Language: the user's Slack locale (``users.info``, cached per user), else the router's own
  detection and default.
* First contact: a user who opens the app's DM (``app_home_opened``, Messages tab) or writes
  their first DM gets the opening message once (persona, what the bot does, privacy, topic
  buttons and "talk to a person"; bot/core/welcome.py), in their Slack locale, else English
  (in the language of the conversation their first message opened).
* Text: Slack mrkdwn becomes plain text for understanding (:mod:`bot.channels.slack_text`);
  replies are escaped for mrkdwn; quick replies become buttons whose payload is routed like a
  typed message (once per user and message; the buttons are then replaced by the choice).
  Agent replies carry the agent's name in bold ("Ann (customer care)", in the customer's language).

Slack app set-up: bot scopes ``chat:write``, ``im:history``, ``im:write`` (a DM for personal
questions asked in a channel), ``app_mentions:read``, ``users:read`` (locale) and, for replies
in a channel thread without a new mention, ``channels:history``; event subscriptions
``message.im``, ``app_mention``, ``app_home_opened`` (and ``message.channels``) and
interactivity, all on ``https://<gateway>/slack/events``.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from bot.channels.common import ChannelContext, ConversationRefs, UpdateLog, run_on_loop
from bot.channels.private import PrivacyCheck
from bot.channels.slack_http import BoltApps, handle_signed, replay
from bot.channels.slack_text import escape, mentions, to_plain
from bot.channels.update_spool import RecentKeys, Record, UpdateSpool
from bot.core.language import locale_language
from bot.core.settings import Settings
from bot.core.store import Conversation
from bot.core.texts import text as customer_text
from bot.router import IncomingMessage, InvalidMessage

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
THREAD_REF = "slack_thread"
QUICK_REPLY = re.compile(r"^quick_reply:\d+$")
HANDLED_SUBTYPES = (None, "thread_broadcast", "file_share")  # others: edits, deletions, joins, bots
MAX_BUTTONS = 25  # Slack's limit per actions block
MAX_SECTION_CHARS = 3000
MAX_CACHED_LOCALES = 10_000
SLACK_TIMEOUT_S = 10  # a Slack outage must not hold up the handling of other messages for long
WELCOME_LOCALE = "en"  # the opening message without a Slack locale


def customer_sender(team: str, user: str, channel: str) -> str:
    """The conversation's sender: per user in DMs (channel ids start with D), per channel elsewhere."""
    return f"{team}:{user}" if channel.startswith("D") else f"{team}:{user}:{channel}"


@dataclass(frozen=True)
class SlackMessage:
    team: str
    user: str
    channel: str
    thread_ts: str
    text: str
    # The message's key at its source, stored with it once (bot/router/): the event's channel
    # and ts, or the click's message and user, the same in every retry and replay.
    key: str | None = None

    @property
    def sender(self) -> str:
        return customer_sender(self.team, self.user, self.channel)

    @property
    def thread(self) -> str:
        return f"{self.channel}:{self.thread_ts}"


def _is_customer_message(event: dict[str, Any]) -> bool:
    return (
        event.get("subtype") in HANDLED_SUBTYPES
        and not event.get("bot_id")
        and bool(event.get("user"))
        and bool(event.get("channel"))
        and bool(event.get("text"))
    )


def _event_team(body: dict[str, Any], event: dict[str, Any]) -> str:
    return event.get("user_team") or event.get("team") or body.get("team_id") or ""


def _action_team(body: dict[str, Any]) -> str:
    return (body.get("user") or {}).get("team_id") or (body.get("team") or {}).get("id") or ""


def button(index: int, spec: dict[str, Any]) -> dict[str, Any]:
    title = str(spec.get("title") or spec.get("payload") or "?")
    return {
        "type": "button",
        "action_id": f"quick_reply:{index}",
        "text": {"type": "plain_text", "text": title[:75], "emoji": True},
        "value": str(spec.get("payload") or title)[:2000],
    }


def reply_message(reply: dict[str, Any], label: str | None = None) -> dict[str, Any]:
    """chat.postMessage arguments (text, blocks) for one reply of the bot or an agent."""
    body = escape(reply.get("text") or "")
    if label:
        body = f"*{escape(label)}*\n{body}"
    image = reply.get("image") if str(reply.get("image") or "").startswith(("http://", "https://")) else None
    buttons = (reply.get("buttons") or [])[:MAX_BUTTONS]
    message: dict[str, Any] = {"text": body or image or " "}
    if not buttons and not image:
        return message
    blocks: list[dict[str, Any]] = []
    if body:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:MAX_SECTION_CHARS]}})
    if image:
        blocks.append({"type": "image", "image_url": image, "alt_text": "image"})
    if buttons:
        blocks.append({"type": "actions", "elements": [button(i, b) for i, b in enumerate(buttons)]})
    return {**message, "blocks": blocks}


def answered_blocks(blocks: list[dict[str, Any]], choice: str) -> list[dict[str, Any]]:
    """The message's blocks with its buttons replaced by the choice made (not offered twice)."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    note = {"type": "context", "elements": [{"type": "mrkdwn", "text": f"› {escape(choice)}"}]}
    return [*kept, note]


def apology_target(body: dict[str, Any]) -> tuple[str, str, str, str] | None:
    """Where to apologise for a customer's spooled request without the database: (channel,
    thread ts, user, a key once per request) for a DM, a mention, or a button in a DM; None for
    anything else (edits, bots, replies in a channel thread, which only the database tells apart
    from colleagues' talk)."""
    if body.get("type") == "block_actions":
        channel, user = (body.get("channel") or {}).get("id") or "", (body.get("user") or {}).get("id") or ""
        posted = body.get("message") or {}
        thread_ts = posted.get("thread_ts") or posted.get("ts") or ""
        key = f"click:{channel}:{posted.get('ts')}:{user}"
        return (channel, thread_ts, user, key) if channel.startswith("D") and user and thread_ts else None
    event = body.get("event") or {}
    kind, channel = event.get("type"), str(event.get("channel") or "")
    wanted = "message" if channel.startswith("D") else "app_mention"
    if kind != wanted or not _is_customer_message(event) or not event.get("ts"):
        return None
    key = str(body.get("event_id") or f"{channel}:{event['ts']}")
    return channel, event.get("thread_ts") or event["ts"], event["user"], key


class SlackCustomerChannel(BoltApps):
    """The ``slack`` customer channel; registered with Delivery to reach customers' threads."""

    name = "slack"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__(
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_api_url,
            "slack-customers",
            SLACK_TIMEOUT_S,
        )
        self._locales: dict[str, str | None] = {}
        self._apologised = RecentKeys()
        for app in (self.app, self.replayer):
            app.event("message")(self.inflight.track(self._on_message))
            app.event("app_mention")(self.inflight.track(self._on_mention))
            app.action(QUICK_REPLY)(self.inflight.track(self._on_button))
            app.event("app_home_opened")(self.inflight.track(self._on_home_opened))

    # -- Channel -------------------------------------------------------------------------------

    def routes(self) -> APIRouter:
        router = APIRouter()

        @router.post(EVENTS_PATH, include_in_schema=False)
        async def slack_events(request: Request) -> Response:
            return await handle_signed(self.handler, request, self.settings.slack_signing_secret, self.spool)

        return router

    async def start(self, context: ChannelContext) -> None:
        """No network here: bolt calls auth.test on the first request."""
        self.context = context
        self.updates = UpdateLog(context.engine)
        self.refs = ConversationRefs(context.engine)
        self.privacy = PrivacyCheck(context.router.rasa)
        self.spool = self.inflight.spool = UpdateSpool(
            self.settings.var_dir, self.name, context.engine, self._apologise
        )
        self.spool.start(lambda record: replay(self.replayer, record["body"]))
        context.delivery.register(self.name, self)

    async def stop(self) -> None:
        """Let messages being handled finish (the HTTP server takes no new ones by now)."""
        if self.spool is not None:
            await self.spool.stop()
        await self.inflight.drain()
        self.context = None

    async def _apologise(self, record: Record) -> None:
        """The apology for a spooled message, in the user's Slack locale, once per message."""
        target = apology_target(record["body"])
        if target is None or not self._apologised.first(target[3]):
            return
        channel, thread_ts, user, _key = target
        language = locale_language(await self._locale(user)) or self.settings.default_language
        await self._post(channel, thread_ts, [{"text": customer_text("rasa_unavailable", language)}])

    # -- incoming ------------------------------------------------------------------------------

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        """DMs; in channels only a reply in the customer's own bot thread (mentions: app_mention)."""
        if self.context is None or not _is_customer_message(event):
            return
        if not event["channel"].startswith("D"):
            if mentions(event["text"], context.bot_user_id):
                return  # the same message also arrives as app_mention
            thread_ts = event.get("thread_ts")
            sender = customer_sender(_event_team(body, event), event["user"], event["channel"])
            if not thread_ts or not await self._owns_thread(sender, f"{event['channel']}:{thread_ts}"):
                return
        await self._receive(body, event, context.bot_user_id)

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        if self.context is None or event.get("channel", "").startswith("D"):
            return  # DMs arrive as message events
        if _is_customer_message(event):
            await self._receive(body, event, context.bot_user_id)

    async def _receive(self, body: dict[str, Any], event: dict[str, Any], bot_user_id: str | None) -> None:
        event_id = body.get("event_id") or f"{event['channel']}:{event['ts']}"
        if not await run_in_threadpool(self.updates.first_time, self.name, event_id):
            return  # a retry (X-Slack-Retry-Num) or a duplicate delivery
        message = SlackMessage(
            team=_event_team(body, event),
            user=event["user"],
            channel=event["channel"],
            thread_ts=event.get("thread_ts") or event["ts"],
            text=to_plain(event["text"], bot_user_id=bot_user_id),
            key=f"slack:{_event_team(body, event)}:{event['channel']}:{event['ts']}",
        )
        if message.text:
            await self._route(message)

    async def _on_home_opened(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """The user opened the app's DM: the opening message, at the first contact only."""
        channel, user = event.get("channel") or "", event.get("user") or ""
        if self.context is None or event.get("tab") != "messages" or not channel.startswith("D") or not user:
            return
        sender = customer_sender(body.get("team_id") or "", user, channel)
        if await run_in_threadpool(self._first_contact, sender):
            locale = await self._locale(user)
            await self._welcome(channel, None, sender, locale)

    def _first_contact(self, sender: str) -> bool:
        """True once per DM customer without any conversation (claimed in the update log)."""
        assert self.context is not None
        if self.context.store.latest_conversation(self.name, sender) is not None:
            return False
        return self.updates.first_time(self.name, f"welcome:{sender}")

    async def _welcome(self, channel: str, thread_ts: str | None, sender: str, locale: str | None) -> None:
        assert self.context is not None
        router = self.context.router
        result = await run_in_threadpool(router.welcome, self.name, sender, locale or WELCOME_LOCALE)
        try:
            await self._post(channel, thread_ts, result.replies)
        except Exception as exc:  # the customer's own message is still answered
            log.warning("the opening message could not be posted: %s", exc)

    async def _on_button(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if self.context is None:
            return
        user, channel = body["user"]["id"], (body.get("channel") or {}).get("id", "")
        posted = body.get("message") or {}
        message = SlackMessage(
            team=_action_team(body),
            user=user,
            channel=channel,
            thread_ts=posted.get("thread_ts") or posted.get("ts", ""),
            text=action.get("value", ""),
        )
        if not channel.startswith("D") and not await self._owns_thread(message.sender, message.thread):
            return  # a colleague of the customer clicked in the channel: not their conversation
        click = f"click:{channel}:{posted.get('ts')}:{user}"
        message = replace(message, key=f"slack:{message.team}:{click}")
        if not await run_in_threadpool(self.updates.first_time, self.name, click):
            return
        await self._mark_answered(channel, posted, (action.get("text") or {}).get("text") or message.text)
        await self._route(message)

    async def _owns_thread(self, sender: str, thread: str) -> bool:
        return await run_in_threadpool(self._thread_sender, thread) == sender

    def _thread_sender(self, thread: str) -> str | None:
        assert self.context is not None
        conversation_id = self.refs.find(THREAD_REF, thread)
        conv = self.context.store.get_conversation(conversation_id) if conversation_id else None
        return conv.sender if conv else None

    async def _route(self, message: SlackMessage) -> None:
        assert self.context is not None
        locale = await self._locale(message.user)
        is_dm = message.channel.startswith("D")
        if not is_dm and await run_in_threadpool(self.privacy.is_personal, message.text):
            await self._move_to_dm(message, locale)
            return
        incoming = IncomingMessage(
            "slack",
            message.sender,
            message.text,
            locale,
            {"slack": {"channel": message.channel}},
            source_key=message.key,
        )
        first = is_dm and await run_in_threadpool(self._first_contact, message.sender)
        try:
            result = await run_in_threadpool(self.context.router.handle, incoming)
        except InvalidMessage as exc:
            if exc.too_large:
                await self._post(message.channel, message.thread_ts, [{"text": self._too_long(locale)}])
            return
        await run_in_threadpool(self.refs.set, result.conversation_id, THREAD_REF, message.thread)
        if first:  # after routing: in the language the first message gave the conversation
            await self._welcome(message.channel, message.thread_ts, message.sender, locale)
        await self._post(message.channel, message.thread_ts, result.replies)

    async def _move_to_dm(self, message: SlackMessage, locale: str | None) -> None:
        """A personal message from a channel: routed and answered in the customer's DM; the
        channel's thread only hears that a private message was sent (bot/channels/private.py)."""
        assert self.context is not None
        try:
            dm = str((await self.client.conversations_open(users=message.user))["channel"]["id"])
        except Exception as exc:  # no im:write scope, Slack down: never answer it in public
            log.warning("could not open a DM for a personal message from a channel: %s", exc)
            failed = customer_text(
                "slack_dm_failed", locale_language(locale) or self.settings.default_language
            )
            await self._post(message.channel, message.thread_ts, [{"text": failed}])
            return
        offered = await run_in_threadpool(self._offered_in, message.sender, message.text)
        sender = customer_sender(message.team, message.user, dm)
        metadata = {"slack": {"channel": dm}}
        incoming = IncomingMessage("slack", sender, message.text, locale, metadata, offered, message.key)
        try:
            result = await run_in_threadpool(self.context.router.handle, incoming)
        except InvalidMessage as exc:
            if exc.too_large:
                await self._post(message.channel, message.thread_ts, [{"text": self._too_long(locale)}])
            return
        await run_in_threadpool(self.refs.set, result.conversation_id, THREAD_REF, f"{dm}:")
        await self._post(
            dm, None, [{"text": customer_text("slack_dm_intro", result.language)}, *result.replies]
        )
        moved = customer_text("slack_moved_to_dm", result.language)
        await self._post(message.channel, message.thread_ts, [{"text": moved}])

    def _offered_in(self, sender: str, text: str) -> bool:
        """A button payload offered in the channel's conversation stays a payload in the DM."""
        assert self.context is not None
        store = self.context.store
        conv = store.latest_conversation(self.name, sender) if text.startswith("/") else None
        return conv is not None and text in store.offered_payloads(conv.id, 2**63 - 1)

    def _too_long(self, locale: str | None) -> str:
        language = locale_language(locale) or self.settings.default_language
        return customer_text("slack_message_too_long", language).format(max=self.settings.max_message_chars)

    async def _locale(self, user: str) -> str | None:
        if user in self._locales:
            return self._locales[user]
        try:
            response = await self.client.users_info(user=user, include_locale=True)
        except Exception as exc:  # no users:read scope, rate limit, Slack down: detect instead
            log.warning("users.info failed for a Slack user: %s", exc)
            return None
        if len(self._locales) >= MAX_CACHED_LOCALES:
            self._locales.clear()
        locale = (response.get("user") or {}).get("locale")
        self._locales[user] = locale
        return locale

    # -- outgoing ------------------------------------------------------------------------------

    async def _post(
        self, channel: str, thread_ts: str | None, replies: list[dict[str, Any]], label: str | None = None
    ) -> None:
        for reply in replies:
            await self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, **reply_message(reply, label)
            )

    async def _mark_answered(self, channel: str, posted: dict[str, Any], choice: str) -> None:
        if not posted.get("ts") or not posted.get("blocks"):
            return
        try:
            await self.client.chat_update(
                channel=channel,
                ts=posted["ts"],
                text=posted.get("text") or choice,
                blocks=answered_blocks(posted["blocks"], choice),
            )
        except Exception as exc:  # cosmetic: the choice is routed anyway
            log.warning("could not mark Slack buttons as answered: %s", exc)

    def send(
        self, conversation: Conversation, replies: list[dict[str, Any]], sender_name: str | None
    ) -> None:
        """Delivery (from a worker thread): agent replies, notices and CSAT into the customer's thread."""
        assert self.context is not None, "the Slack channel is not started"
        channel, thread_ts = self._destination(conversation)
        label = None
        if sender_name:
            label = customer_text("slack_agent_label", conversation.language).format(agent=sender_name)
        coroutine = self._post(channel, thread_ts, replies, label)
        if _running_loop() is self.context.loop:  # waiting on the loop itself would deadlock
            self.inflight.add(self.context.loop.create_task(self._quietly(coroutine)))
            return
        run_on_loop(self.context.loop, coroutine)

    @staticmethod
    async def _quietly(coroutine: Coroutine[Any, Any, None]) -> None:
        try:
            await coroutine
        except Exception:  # Delivery logs failures of the threaded path; this one has no caller
            log.exception("Slack delivery failed")

    def _destination(self, conversation: Conversation) -> tuple[str, str | None]:
        """The stored thread; without one, the channel of the sender (a user id opens the DM)."""
        ref = self.refs.get(conversation.id, THREAD_REF)
        if ref:
            channel, _, thread_ts = ref.partition(":")
            return channel, thread_ts or None
        parts = conversation.sender.split(":")
        return parts[-1], None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
