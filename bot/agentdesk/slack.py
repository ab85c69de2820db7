"""The webcare team's own Slack workspace: a second agent console next to the web one.

Each new escalation is posted once to ``SLACK_AGENT_CHANNEL`` (reason, priority, language,
channel, waiting time, masked summary) with a *Take* button. *Take* claims the chat for the
clicking Slack user's linked console account (``python -m bot.manage link-slack``) with the same
atomic claim as the web console, so a second *Take* - or a claim in the web console at the same
moment - is refused. The post then shows who has the chat, with *Hand back to bot* and *Close*.
What the agent writes in the post's thread goes to the customer on the customer's own channel
(``Console.reply``: web chat, Telegram, Slack); what the customer writes meanwhile, and what an
agent replies in the web console, is posted in the thread: the console, Slack and the customer see
the same conversation.

Masking: this workspace is an agent console, but a Slack channel is a transcript that has left
the web console (Slack keeps it, search finds it, more people read it than the one agent), so
everything of the customer posted here - the summary and the live messages - goes through
:func:`bot.core.masking.mask_text`, and a verified customer is shown masked (first name, last
initial, the number's last two digits, no amounts: handoff/customer.py). The full transcript
and the customer panel stay in the web console.

Same state everywhere: the post is redrawn from the change feed's owner events, whoever made
the change (this workspace, the web console, the agent-reply timeout re-queueing a chat), and
checked after each message of the chat (a move and its reverse between two polls of the feed, an
escalation the customer leaves at once, show no owner change; the message that follows does). Each
post and each relayed message is made once across gateway processes: it is reserved in the
database before posting (:mod:`bot.agentdesk.slack_posts`), and a reservation left by a process
that died before posting is taken over by another after a lease. A later escalation of the same
conversation (after a hand back) replaces a ref of an older handoff with a compare-and-set, so it
gets a post of its own, also exactly once. While the database is away, agents' clicks and thread
replies wait in the gateway's spool and are handled once it is back (bot/channels/slack_http.py).

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
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from bot.agentdesk.slack_blocks import PostView, post_content, state_of
from bot.agentdesk.slack_posts import (
    POST_REF,
    RELAY_LOG,
    RESERVATION_LEASE_S,
    THREAD_REF,
    PostLedger,
    PostRef,
)
from bot.channels.common import ChannelContext, ConversationRefs, UpdateLog
from bot.channels.slack_http import STOP_TIMEOUT_S, BoltApps, handle_signed, replay
from bot.channels.slack_text import escape, to_plain
from bot.channels.update_spool import UpdateSpool
from bot.connectors.accounts import account_service
from bot.core import events
from bot.core.db import messages, utcnow
from bot.core.feed import Event
from bot.core.masking import mask_text
from bot.core.settings import Settings
from handoff.agents import Agent
from handoff.console import ConsoleError
from handoff.customer import CustomerPanel

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/agents/events"
FEED_WAIT_S = 30.0
SLACK_TIMEOUT_S = 10  # the feed is followed one change at a time: a Slack outage must not stall it long
LINK_HELP = (
    "Your Slack account is not linked to a console account, so this did nothing. Ask an admin to run "
    "`python -m bot.manage link-slack USERNAME {user}` (USERNAME: your console log-in)."
)


@dataclass(frozen=True)
class Actor:
    """Who clicked or wrote, and where (for an ephemeral answer)."""

    user: str
    channel: str
    thread_ts: str | None = None


class SlackAgentWorkspace(BoltApps):
    """Not a customer channel: it never registers with Delivery."""

    name = "slack_agents"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__(
            settings.slack_agent_bot_token,
            settings.slack_agent_signing_secret,
            settings.slack_api_url,
            "slack-agents",
            SLACK_TIMEOUT_S,
        )
        self._task: asyncio.Task[None] | None = None
        self._shown: dict[str, tuple[int, str, str | None]] = {}  # what each post shows now
        self._customers: dict[int, str | None] = {}  # handoff id -> the masked verified customer
        self.processed_seq = -1  # the last change feed event handled (-1: not caught up yet)
        self._stopping, self._idle = False, False
        self.lease_s = RESERVATION_LEASE_S  # after this, another process posts what one reserved
        self._swept = 0.0  # time.monotonic() of the last look for unfinished posts
        for app in (self.app, self.replayer):
            app.event("message")(self.inflight.track(self._on_message))
            app.action("take")(self.inflight.track(self._on_take))
            app.action("hand_back")(self.inflight.track(self._on_end))
            app.action("close")(self.inflight.track(self._on_end))

    # -- Channel -------------------------------------------------------------------------------

    def routes(self) -> APIRouter:
        router = APIRouter()

        @router.post(EVENTS_PATH, include_in_schema=False)
        async def slack_agent_events(request: Request) -> Response:
            secret = self.settings.slack_agent_signing_secret
            return await handle_signed(self.handler, request, secret, self.spool)

        return router

    async def start(self, context: ChannelContext) -> None:
        self.context = context
        self.refs = ConversationRefs(context.engine)
        self.updates = UpdateLog(context.engine)
        self.ledger = PostLedger(context.engine)
        self.customers = CustomerPanel(context.engine, context.console, account_service(self.settings))
        self._task = asyncio.create_task(self._follow_feed(), name="slack-agents-feed")
        self.spool = self.inflight.spool = UpdateSpool(self.settings.var_dir, self.name, context.engine)
        self.spool.start(lambda record: replay(self.replayer, record["body"]))

    async def stop(self) -> None:
        """Finish the change being handled and the clicks and replies in progress, then stop.

        Cancelling the follower mid-change would not stop the database work it waits for in a
        worker thread; it is cancelled only while it waits for the feed (or after a time-out).
        """
        self._stopping = True
        if self.spool is not None:
            await self.spool.stop()
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
            version = await feed.wait(version, min(FEED_WAIT_S, self.lease_s / 2))
            self._idle = False
            if time.monotonic() - self._swept >= self.lease_s / 2:
                self._swept = time.monotonic()
                await self._safely(self._finish_unfinished())
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

    async def _finish_unfinished(self) -> None:
        """Posts and relays another process reserved and never made (it died), or that failed."""
        assert self.context is not None
        now = utcnow()
        for cid in await run_in_threadpool(self.ledger.unfinished_posts, now, self.lease_s):
            await self._sync_post(cid)
        for message_id in await run_in_threadpool(self.ledger.take_over_relays, now, self.lease_s):
            message = await run_in_threadpool(self._message, message_id)
            if message is not None:
                await self._relay(message["conversation_id"], message, reserved=True)

    def _message(self, message_id: int) -> dict[str, Any] | None:
        assert self.context is not None
        with self.context.engine.connect() as conn:
            row = conn.execute(select(messages).where(messages.c.id == message_id)).first()
        return dict(row._mapping) if row else None

    async def _on_change(self, change: Event) -> None:
        if change.kind == events.OWNER:
            await self._sync_post(change.conversation_id)
        elif change.kind == events.MESSAGE:
            if _relayed(change.data):
                await self._relay(change.conversation_id, change.data)
            # The feed compares owners between two polls: a chat escalated and left (or taken
            # and handed back) in between shows no owner change. Each such move is followed by
            # a message (the bot's answer, a notice), so the post is checked after messages too.
            await self._sync_post(change.conversation_id)

    # -- the post ------------------------------------------------------------------------------

    def _view(self, cid: str) -> tuple[PostView, PostRef | None] | None:
        """The post as it should look now (None: never escalated), and the ref of the post."""
        assert self.context is not None
        handoff = self.context.queue.latest_handoff(cid)
        conv = self.context.store.get_conversation(cid) if handoff else None
        state = state_of(conv.owner, handoff) if conv and handoff else None
        if handoff is None or state is None:
            return None
        agent = self.context.directory.by_username(handoff.claimed_by) if handoff.claimed_by else None
        name = agent.display_name if agent else handoff.claimed_by
        view = PostView(cid, handoff, state, name, utcnow(), self._customer(handoff.id, cid))
        return view, PostRef.parse(self.refs.get(cid, POST_REF))

    def _customer(self, handoff_id: int, cid: str) -> str | None:
        """The masked verified customer, asked once per handoff (the account system may be slow)."""
        if handoff_id not in self._customers:
            if len(self._customers) > 10_000:
                self._customers.clear()
            self._customers[handoff_id] = self.customers.masked(cid)
        return self._customers[handoff_id]

    async def _sync_post(self, cid: str) -> None:
        """Post a waiting chat that has no post yet, else redraw its post if its state changed."""
        found = await run_in_threadpool(self._view, cid)
        if found is None:
            return
        view, ref = found
        current = ref is not None and ref.handoff_id == view.handoff.id
        unfinished = ref is not None and ref.unfinished(view.now, self.lease_s)
        if view.state == "waiting" and (not current or unfinished):
            await self._post(view, ref)
        elif current and ref is not None and ref.status == "posted" and self._shown.get(cid) != view.key:
            self._remember(cid, view)  # before the call: a concurrent redraw of the same state skips
            try:
                await self.client.chat_update(channel=ref.channel, ts=ref.ts, **post_content(view))
            except Exception:
                self._shown.pop(cid, None)
                raise

    async def _post(self, view: PostView, previous: PostRef | None) -> None:
        cid, pending = view.conversation_id, PostRef.reservation(view.handoff.id)
        if not await run_in_threadpool(self.ledger.reserve, cid, previous, pending):
            return  # another process (or an earlier change) posts it
        try:
            response = await self.client.chat_postMessage(
                channel=self.settings.slack_agent_channel, **post_content(view)
            )
        except Exception:
            failed = PostRef(view.handoff.id, "failed").value
            await run_in_threadpool(self.ledger.replace, cid, pending.value, failed)
            raise
        posted = PostRef(view.handoff.id, "posted", str(response["channel"]), str(response["ts"]))
        if not await run_in_threadpool(self.ledger.store_post, cid, pending, posted):
            log.warning("Slack agent post of %s outlived its reservation: deleting the duplicate", cid)
            await self.client.chat_delete(channel=posted.channel, ts=posted.ts)
            return
        self._remember(cid, view)

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

    async def _relay(self, cid: str, message: dict[str, Any], *, reserved: bool = False) -> None:
        """A customer's message or a web console reply, masked, into the post's thread, once
        across processes (``reserved``: this process took over another's reservation)."""
        ref = await run_in_threadpool(self._thread_of_open_handoff, cid, message["created_at"])
        if ref is None:
            return
        if not reserved and not await run_in_threadpool(self.ledger.reserve_relay, message["id"]):
            return
        await self.client.chat_postMessage(channel=ref.channel, thread_ts=ref.ts, text=_thread_text(message))
        await run_in_threadpool(self.ledger.relayed, message["id"])

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
            self.updates.first_time, RELAY_LOG, body.get("event_id") or event["ts"]
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
            await run_in_threadpool(self.context.console.reply, cid, agent, text, "slack")
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


def _relayed(message: dict[str, Any]) -> bool:
    """Posted in the thread: the customer's messages, and agents' replies not written in Slack."""
    if message.get("author") == "customer":
        return message.get("direction") == "in"
    payload = message.get("payload") or {}
    return (
        message.get("author") == "agent"
        and payload.get("event") == events.AGENT_REPLY
        and payload.get("via") != "slack"
    )


def _thread_text(message: dict[str, Any]) -> str:
    text = escape(mask_text(message["text"]))
    if message.get("author") == "customer":
        return f"*Customer:* {text}"
    agent = escape(str((message.get("payload") or {}).get("agent") or "An agent"))
    return f"*{agent}* (web console): {text}"


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
