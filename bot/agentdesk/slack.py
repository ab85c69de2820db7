"""The webcare team's own Slack workspace: a second agent console next to the web one.

Each new escalation is posted once to ``SLACK_AGENT_CHANNEL`` (reason, priority, language,
channel, waiting time, masked summary) with a *Take* button. *Take* claims the chat for the
clicking Slack user's linked console account (``python -m bot.manage link-slack``) with the same
atomic claim as the web console, so a second *Take* - or a claim in the web console at the same
moment - is refused. The post then shows who has the chat, with *Hand back to bot* and *Close*.
What the agent writes in the post's thread goes to the customer on the customer's own channel
(``Console.reply``: web chat, Telegram, Slack); what the customer writes meanwhile is posted in
the thread.

Masking: this workspace is an agent console, but a Slack channel is a transcript that has left
the web console (Slack keeps it, search finds it, more people read it than the one agent), so
everything of the customer posted here - the summary and the live messages - goes through
:func:`bot.core.masking.mask_text`. The full transcript stays in the web console.

Same state everywhere: the post is redrawn from the change feed's owner events, whoever made
the change (this workspace, the web console, the agent-reply timeout re-queueing a chat). It is
posted once across gateway processes: the ``slack_agent_post`` ref is claimed before posting
(``"<handoff id>:pending"``) and then holds ``"<handoff id>:<channel>:<ts>"``. A later escalation
of the same conversation (after a hand back) replaces a ref of an older handoff with a
compare-and-set, so it gets a post of its own, also exactly once.

Slack app set-up (a separate app in the webcare workspace): bot scopes ``chat:write`` and
``channels:history`` (``groups:history`` for a private channel); event subscription
``message.channels`` (``message.groups``) and interactivity, both on
``https://<gateway>/slack/agents/events``; invite the app to ``SLACK_AGENT_CHANNEL``. Each agent
links their Slack user once: ``python -m bot.manage link-slack USERNAME SLACK_USER_ID``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import update
from starlette.concurrency import run_in_threadpool

from bot.channels.common import ChannelContext, ConversationRefs, UpdateLog
from bot.channels.slack import STOP_TIMEOUT_S, InFlight, handle_signed
from bot.channels.slack_text import escape, to_plain
from bot.core import events
from bot.core.db import OWNER_AGENT, OWNER_QUEUED, conversation_refs, utcnow
from bot.core.feed import Event
from bot.core.masking import mask_text
from bot.core.settings import Settings
from handoff.agents import Agent
from handoff.console import ConsoleError
from handoff.queue import Handoff

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/agents/events"
POST_REF = "slack_agent_post"
THREAD_REF = "slack_agent_thread"  # "<channel>:<ts>" of the current post: thread replies find their chat
UPDATE_LOG = "slack_agents"
FEED_WAIT_S = 30.0
SLACK_TIMEOUT_S = 10  # the feed is followed one change at a time: a Slack outage must not stall it long
MAX_SECTION_CHARS = 3000
LINK_HELP = (
    "Your Slack account is not linked to a console account, so this did nothing. Ask an admin to run "
    "`python -m bot.manage link-slack USERNAME {user}` (USERNAME: your console log-in)."
)
PRIORITY_ICONS = {"urgent": ":red_circle:", "high": ":large_orange_circle:", "normal": ":white_circle:"}


@dataclass(frozen=True)
class PostRef:
    """The ``slack_agent_post`` ref: which handoff has a post, and where (or pending / failed)."""

    handoff_id: int
    status: str = "posted"  # posted | pending | failed
    channel: str = ""
    ts: str = ""

    @classmethod
    def parse(cls, value: str | None) -> PostRef | None:
        parts = (value or "").split(":")
        if len(parts) == 3 and parts[0].isdigit():
            return cls(int(parts[0]), "posted", parts[1], parts[2])
        if len(parts) == 2 and parts[0].isdigit() and parts[1] in ("pending", "failed"):
            return cls(int(parts[0]), parts[1])
        return None

    @property
    def value(self) -> str:
        if self.status == "posted":
            return f"{self.handoff_id}:{self.channel}:{self.ts}"
        return f"{self.handoff_id}:{self.status}"


@dataclass(frozen=True)
class PostView:
    """What an escalation post shows: state is waiting | taken | handed_back | closed."""

    conversation_id: str
    handoff: Handoff
    state: str
    agent: str | None
    now: datetime

    @property
    def key(self) -> tuple[int, str, str | None]:
        return (self.handoff.id, self.state, self.agent)


def minutes(seconds: float) -> str:
    whole = int(max(0.0, seconds) // 60)
    if whole < 1:
        return "<1 min"
    return f"{whole} min" if whole < 60 else f"{whole // 60} h {whole % 60:02d} min"


def _fields(view: PostView) -> dict[str, Any]:
    h = view.handoff
    waited = ((h.claimed_at or view.now) - h.created_at).total_seconds()
    since = f"<!date^{int(h.created_at.timestamp())}^{{time}}|{h.created_at:%H:%M} UTC>"
    pairs = [
        ("Reason", h.reason.replace("_", " ")),
        ("Priority", h.priority),
        ("Language", h.language.upper()),
        ("Channel", h.channel),
        ("Waiting" if view.state == "waiting" else "Waited", f"{minutes(waited)} (since {since})"),
    ]
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in pairs]}


def _headline(view: PostView) -> str:
    agent = escape(view.agent or "an agent")
    return {
        "waiting": f"{PRIORITY_ICONS.get(view.handoff.priority, '')} *New chat waiting for a person*",
        "taken": f":speech_balloon: *{agent}* has this chat",
        "handed_back": f":leftwards_arrow_with_hook: Handed back to the bot by *{agent}*",
        "closed": f":white_check_mark: Closed by *{agent}*" if view.agent else ":white_check_mark: Closed",
    }[view.state]


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _actions(view: PostView) -> list[dict[str, Any]]:
    cid = view.conversation_id
    if view.state == "waiting":
        return [{"type": "actions", "elements": [_button("Take", "take", cid, "primary")]}]
    if view.state != "taken":
        return []
    close = _button("Close", "close", cid, "danger")
    close["confirm"] = {
        "title": {"type": "plain_text", "text": "Close this chat?"},
        "text": {
            "type": "plain_text",
            "text": "The customer is asked for a score; their next message starts anew.",
        },
        "confirm": {"type": "plain_text", "text": "Close"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    hint = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Reply in this thread to answer the customer."}],
    }
    return [hint, {"type": "actions", "elements": [_button("Hand back to bot", "hand_back", cid), close]}]


def post_content(view: PostView) -> dict[str, Any]:
    """chat.postMessage / chat.update arguments for an escalation post; customer text masked."""
    h = view.handoff
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _headline(view)}},
        _fields(view),
    ]
    if h.summary:
        summary = f"*Summary*\n{escape(mask_text(h.summary))}"[:MAX_SECTION_CHARS]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": summary}})
    state = view.state.replace("_", " ").capitalize()
    text = f"{state}: {h.reason} ({h.priority}, {h.language.upper()}, {h.channel})"
    return {"text": text, "blocks": blocks + _actions(view)}


def _state(owner: str, handoff: Handoff) -> str | None:
    if handoff.ended_at is not None:
        return "closed" if handoff.outcome == "closed" else "handed_back"
    return {OWNER_QUEUED: "waiting", OWNER_AGENT: "taken"}.get(owner)


@dataclass(frozen=True)
class Actor:
    """Who clicked or wrote, and where (for an ephemeral answer)."""

    user: str
    channel: str
    thread_ts: str | None = None


class SlackAgentWorkspace:
    """Not a customer channel: it never registers with Delivery."""

    name = "slack_agents"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = AsyncWebClient(
            token=settings.slack_agent_bot_token, base_url=settings.slack_api_url, timeout=SLACK_TIMEOUT_S
        )
        self.app = AsyncApp(
            client=self.client, signing_secret=settings.slack_agent_signing_secret, name="slack-agents"
        )
        self.handler = AsyncSlackRequestHandler(self.app)
        self.context: ChannelContext | None = None
        self._task: asyncio.Task[None] | None = None
        self._shown: dict[str, tuple[int, str, str | None]] = {}  # what each post shows now
        self.processed_seq = -1  # the last change feed event handled (-1: not caught up yet)
        self._stopping, self._idle = False, False
        self.inflight = InFlight()
        self.app.event("message")(self.inflight.track(self._on_message))
        self.app.action("take")(self.inflight.track(self._on_take))
        self.app.action("hand_back")(self.inflight.track(self._on_end))
        self.app.action("close")(self.inflight.track(self._on_end))

    # -- Channel -------------------------------------------------------------------------------

    def routes(self) -> APIRouter:
        router = APIRouter()

        @router.post(EVENTS_PATH, include_in_schema=False)
        async def slack_agent_events(request: Request) -> Response:
            return await handle_signed(self.handler, request, self.settings.slack_agent_signing_secret)

        return router

    async def start(self, context: ChannelContext) -> None:
        self.context = context
        self.refs = ConversationRefs(context.engine)
        self.updates = UpdateLog(context.engine)
        self._task = asyncio.create_task(self._follow_feed(), name="slack-agents-feed")

    async def stop(self) -> None:
        """Finish the change being handled and the clicks and replies in progress, then stop.

        Cancelling the follower mid-change would not stop the database work it waits for in a
        worker thread; it is cancelled only while it waits for the feed (or after a time-out).
        """
        self._stopping = True
        if self._task is not None:
            if self._idle:
                self._task.cancel()
            await asyncio.wait({self._task}, timeout=STOP_TIMEOUT_S)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.inflight.drain()
        self.context = None

    # -- the change feed -----------------------------------------------------------------------

    async def _follow_feed(self) -> None:
        """Escalations to post, owner changes to show, customer messages to relay."""
        assert self.context is not None
        feed = self.context.feed
        seq, version = feed.seq, feed.version
        await self._safely(self._post_waiting())  # escalated while no gateway was following
        self.processed_seq = seq
        while not self._stopping:
            self._idle = True
            version = await feed.wait(version, FEED_WAIT_S)
            self._idle = False
            changes, complete = feed.since(seq)
            if not complete:
                await self._safely(self._post_waiting())
            for change in changes:
                if self._stopping:
                    return
                await self._safely(self._on_change(change))
                seq = self.processed_seq = change.seq

    async def _safely(self, work: Any) -> None:
        try:
            await work
        except Exception:  # Slack or the database blipped: the next change tries again
            log.exception("Slack agent workspace: handling a change failed")

    async def _post_waiting(self) -> None:
        assert self.context is not None
        for handoff in await run_in_threadpool(self.context.queue.waiting):
            await self._sync_post(handoff.conversation_id)

    async def _on_change(self, change: Event) -> None:
        if change.kind == events.OWNER:
            await self._sync_post(change.conversation_id)
        elif change.data.get("author") == "customer" and change.data.get("direction") == "in":
            await self._relay(change.conversation_id, change.data)

    # -- the post ------------------------------------------------------------------------------

    def _view(self, cid: str) -> tuple[PostView, PostRef | None] | None:
        """The post as it should look now (None: never escalated), and the ref of the post."""
        assert self.context is not None
        handoff = self.context.queue.latest_handoff(cid)
        conv = self.context.store.get_conversation(cid) if handoff else None
        state = _state(conv.owner, handoff) if conv and handoff else None
        if handoff is None or state is None:
            return None
        agent = self.context.directory.by_username(handoff.claimed_by) if handoff.claimed_by else None
        view = PostView(cid, handoff, state, agent.display_name if agent else handoff.claimed_by, utcnow())
        return view, PostRef.parse(self.refs.get(cid, POST_REF))

    async def _sync_post(self, cid: str) -> None:
        """Post a waiting chat that has no post yet, else redraw its post if its state changed."""
        found = await run_in_threadpool(self._view, cid)
        if found is None:
            return
        view, ref = found
        current = ref is not None and ref.handoff_id == view.handoff.id
        if view.state == "waiting" and (not current or (ref is not None and ref.status == "failed")):
            await self._post(view, ref)
        elif current and ref is not None and ref.status == "posted" and self._shown.get(cid) != view.key:
            self._remember(cid, view)  # before the call: a concurrent redraw of the same state skips
            try:
                await self.client.chat_update(channel=ref.channel, ts=ref.ts, **post_content(view))
            except Exception:
                self._shown.pop(cid, None)
                raise

    async def _post(self, view: PostView, previous: PostRef | None) -> None:
        assert self.context is not None
        cid, pending = view.conversation_id, PostRef(view.handoff.id, "pending")
        if not await run_in_threadpool(self._reserve, cid, previous, pending):
            return  # another process (or an earlier change) posts it
        try:
            response = await self.client.chat_postMessage(
                channel=self.settings.slack_agent_channel, **post_content(view)
            )
        except Exception:
            await run_in_threadpool(
                self._replace, cid, pending.value, PostRef(view.handoff.id, "failed").value
            )
            raise
        posted = PostRef(view.handoff.id, "posted", str(response["channel"]), str(response["ts"]))
        await run_in_threadpool(self._store_post, cid, pending, posted)
        self._remember(cid, view)

    def _reserve(self, cid: str, previous: PostRef | None, pending: PostRef) -> bool:
        if previous is None:
            return self.refs.claim(cid, POST_REF, pending.value)
        return self._replace(cid, previous.value, pending.value)

    def _replace(self, cid: str, old: str, new: str) -> bool:
        """Compare-and-set of the post ref: True when this call changed ``old`` into ``new``."""
        assert self.context is not None
        with self.context.engine.begin() as conn:
            changed = conn.execute(
                update(conversation_refs)
                .where(
                    conversation_refs.c.conversation_id == cid,
                    conversation_refs.c.kind == POST_REF,
                    conversation_refs.c.value == old,
                )
                .values(value=new)
            )
        return changed.rowcount == 1

    def _store_post(self, cid: str, pending: PostRef, posted: PostRef) -> None:
        self._replace(cid, pending.value, posted.value)
        self.refs.set(cid, THREAD_REF, f"{posted.channel}:{posted.ts}")

    def _remember(self, cid: str, view: PostView) -> None:
        if len(self._shown) > 10_000:
            self._shown.clear()
        self._shown[cid] = view.key

    # -- customer messages into the thread -----------------------------------------------------

    def _thread_of_open_handoff(self, cid: str, sent_at: datetime) -> PostRef | None:
        """The post of the chat's open handoff, when the message came after the escalation."""
        assert self.context is not None
        handoff = self.context.queue.open_handoff(cid)
        if handoff is None or sent_at < handoff.created_at:
            return None  # the bot's conversation, or text the summary already covers
        ref = PostRef.parse(self.refs.get(cid, POST_REF))
        return ref if ref and ref.status == "posted" and ref.handoff_id == handoff.id else None

    async def _relay(self, cid: str, message: dict[str, Any]) -> None:
        """A customer's message, masked, into the post's thread (once across processes)."""
        ref = await run_in_threadpool(self._thread_of_open_handoff, cid, message["created_at"])
        if ref is None:
            return
        if not await run_in_threadpool(
            self.updates.first_time, UPDATE_LOG, f"customer-message:{message['id']}"
        ):
            return
        text = f"*Customer:* {escape(mask_text(message['text']))}"
        await self.client.chat_postMessage(channel=ref.channel, thread_ts=ref.ts, text=text)

    # -- what agents do in Slack ---------------------------------------------------------------

    async def _on_take(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        cid, actor = action.get("value", ""), _clicker(body)
        agent = await self._agent(actor)
        if agent is None:
            return
        try:
            await run_in_threadpool(self._claim, cid, agent)
        except ConsoleError as exc:
            await self._ephemeral(actor, await run_in_threadpool(self._refusal, cid, agent, exc))
            return
        await self._sync_post(cid)

    def _claim(self, cid: str, agent: Agent) -> None:
        """Console.claim; taking a chat from Slack shows the agent is working: online first."""
        assert self.context is not None
        if not self.context.console.is_available(agent):
            self.context.directory.set_presence(agent.id, "online")
            self.context.feed.touch()
            agent = self.context.directory.get(agent.id) or agent
        self.context.console.claim(cid, agent)

    def _refusal(self, cid: str, agent: Agent, error: ConsoleError) -> str:
        assert self.context is not None
        handoff = self.context.queue.open_handoff(cid)
        if handoff is None or not handoff.claimed_by:
            return f"Not taken: {error}."
        if handoff.claimed_by == agent.username:
            return "You already have this chat."
        owner = self.context.directory.by_username(handoff.claimed_by)
        return f"Already taken by {owner.display_name if owner else handoff.claimed_by}."

    async def _on_end(self, ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        """Hand back to bot / Close, as the agent who has the chat (the console checks that)."""
        await ack()
        assert self.context is not None
        cid, actor = action.get("value", ""), _clicker(body)
        agent = await self._agent(actor)
        if agent is None:
            return
        console = self.context.console
        operation = console.hand_back if action.get("action_id") == "hand_back" else console.close
        try:
            await run_in_threadpool(operation, cid, agent)
        except ConsoleError as exc:
            await self._ephemeral(actor, f"Nothing changed: {exc}.")
            return
        await self._sync_post(cid)

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        """A reply in an escalation thread goes to the customer, from the agent who has the chat."""
        thread_ts = event.get("thread_ts")
        if self.context is None or not thread_ts or thread_ts == event.get("ts") or not _by_a_person(event):
            return
        if not await run_in_threadpool(
            self.updates.first_time, UPDATE_LOG, body.get("event_id") or event["ts"]
        ):
            return
        cid = await run_in_threadpool(self.refs.find, THREAD_REF, f"{event['channel']}:{thread_ts}")
        if cid is None:
            return
        actor = Actor(event["user"], event["channel"], thread_ts)
        agent = await self._agent(actor)
        text = to_plain(event["text"], bot_user_id=context.bot_user_id, keep_urls=True)
        if agent is None or not text:
            return
        try:
            await run_in_threadpool(self.context.console.reply, cid, agent, text)
        except ConsoleError as exc:
            await self._ephemeral(actor, f"Not sent to the customer: {exc}.")

    async def _agent(self, actor: Actor) -> Agent | None:
        """The linked console account; an unlinked user is told how to link."""
        assert self.context is not None
        agent = await run_in_threadpool(self.context.directory.by_link, "slack", actor.user)
        if agent is None:
            await self._ephemeral(actor, LINK_HELP.format(user=actor.user))
        return agent

    async def _ephemeral(self, actor: Actor, text: str) -> None:
        try:
            await self.client.chat_postEphemeral(
                channel=actor.channel, user=actor.user, text=text, thread_ts=actor.thread_ts
            )
        except Exception as exc:
            log.warning("could not answer a Slack agent: %s", exc)


def _clicker(body: dict[str, Any]) -> Actor:
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    return Actor(body["user"]["id"], channel)


def _by_a_person(event: dict[str, Any]) -> bool:
    return (
        event.get("subtype") in (None, "thread_broadcast")
        and not event.get("bot_id")
        and bool(event.get("user"))
        and bool(event.get("text"))
    )
