"""HTTP API and pages of the agent console, mounted by the gateway under ``/agent``.

Security: the session cookie is HttpOnly, SameSite=Strict, ``Secure`` when SECURE_COOKIES is
set, and scoped to ``/agent``. Every state-changing request must be JSON (a cross-site form
cannot send that without a CORS preflight, which is never granted) and, once logged in, carry
the session's CSRF token in ``X-CSRF-Token``. Customer text only ever reaches the page as JSON
that the page renders with ``textContent``.
"""

from __future__ import annotations

import hmac
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from bot.core.feed import ChangeFeed, Event
from bot.core.hours import HoursError, HoursRepository, hours_spec
from bot.core.masking import mask_transcript
from bot.core.outages import OutageRepository
from bot.core.settings import Settings
from bot.core.store import ConversationStore
from handoff.agents import AgentDirectory, AgentError, Session
from handoff.console import Console, ConsoleError, transcript_entry
from handoff.metrics import compute_metrics

if TYPE_CHECKING:  # the insights module is loaded by the gateway, only when it is wired in
    from bot.insights import Insights

STATIC_DIR = Path(__file__).with_name("static")
COOKIE = "cc_agent"
CSRF_HEADER = "x-csrf-token"
MAX_BODY_BYTES = 16 * 1024
LOGIN_WINDOW_S, LOGIN_MAX_FAILURES = 15 * 60, 5


@dataclass
class ConsoleServices:
    settings: Settings
    directory: AgentDirectory
    console: Console
    store: ConversationStore
    outages: OutageRepository
    feed: ChangeFeed
    hours: HoursRepository
    insights: Insights | None = None


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class LoginThrottle:
    """At most LOGIN_MAX_FAILURES failed log-ins per username in LOGIN_WINDOW_S (per process)."""

    def __init__(self) -> None:
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def blocked(self, username: str) -> bool:
        recent = self.failures[_key(username)]
        while recent and recent[0] < time.monotonic() - LOGIN_WINDOW_S:
            recent.popleft()
        return len(recent) >= LOGIN_MAX_FAILURES

    def failed(self, username: str) -> None:
        self.failures[_key(username)].append(time.monotonic())

    def succeeded(self, username: str) -> None:
        self.failures.pop(_key(username), None)


def _key(username: str) -> str:
    """The throttle counts per account, however the username is spelled (as authenticate does)."""
    return username.strip().lower()


def services_of(request: Request) -> ConsoleServices:
    return request.app.state.console


async def json_body(request: Request) -> dict[str, Any]:
    if not (request.headers.get("content-type") or "").startswith("application/json"):
        raise ApiError(415, "json_required", "send a JSON body (Content-Type: application/json)")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, "too_large", f"request body must be at most {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", "request body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "request body must be a JSON object")
    return body


async def current_session(request: Request, *, write: bool = False, admin: bool = False) -> Session:
    services = services_of(request)
    session = await run_in_threadpool(services.directory.session, request.cookies.get(COOKIE))
    if session is None:
        raise ApiError(401, "not_logged_in", "log in first")
    if write:
        sent = request.headers.get(CSRF_HEADER) or ""
        if not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
            raise ApiError(403, "csrf", "missing or wrong CSRF token")
    if admin and not session.agent.is_admin:
        raise ApiError(403, "admin_only", "only an admin can do this")
    return session


def me(session: Session, console: Console) -> dict[str, Any]:
    available = console.is_available(session.agent)
    return {**session.agent.public(), "available": available, "csrf": session.csrf_token}


def build_router() -> APIRouter:
    router = APIRouter(prefix="/agent")
    throttle = LoginThrottle()

    @router.get("", include_in_schema=False)
    @router.get("/", response_class=HTMLResponse)
    async def console_page() -> HTMLResponse:
        page = (STATIC_DIR / "console.html").read_text(encoding="utf-8")
        return HTMLResponse(page, headers=page_headers())

    @router.get("/dom.js", include_in_schema=False)
    async def dom_script() -> Response:
        """The DOM helpers the console pages share (static/dom.js)."""
        script = (STATIC_DIR / "dom.js").read_text(encoding="utf-8")
        media_type = "text/javascript; charset=utf-8"
        return Response(script, media_type=media_type, headers={"Cache-Control": "no-cache"})

    @router.post("/api/login")
    async def login(request: Request) -> Response:
        body = await json_body(request)
        username, password = str(body.get("username") or ""), str(body.get("password") or "")
        if throttle.blocked(username):
            return _error(429, "too_many_attempts", "too many failed log-ins; wait 15 minutes")
        services = services_of(request)
        agent = await run_in_threadpool(services.directory.authenticate, username, password)
        if agent is None:
            throttle.failed(username)
            return _error(401, "bad_credentials", "wrong username or password")
        throttle.succeeded(username)
        token, session = await run_in_threadpool(services.directory.open_session, agent)
        response = JSONResponse(me(session, services.console))
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(services.directory.session_ttl.total_seconds()),
            path="/agent",
            httponly=True,
            samesite="strict",
            secure=services.settings.secure_cookies,
        )
        return response

    @router.post("/api/logout")
    async def logout(request: Request) -> Response:
        session = await current_session(request, write=True)
        services = services_of(request)
        await run_in_threadpool(services.directory.set_presence, session.agent.id, "offline")
        await run_in_threadpool(services.directory.close_session, request.cookies.get(COOKIE) or "")
        services.feed.touch()  # open streams of this session check it and stop
        response = JSONResponse({"ok": True})
        response.delete_cookie(COOKIE, path="/agent")
        return response

    @router.get("/api/me")
    async def whoami(request: Request) -> Response:
        session = await current_session(request)
        return JSONResponse(me(session, services_of(request).console))

    @router.post("/api/presence")
    async def presence(request: Request) -> Response:
        session = await current_session(request, write=True)
        body = await json_body(request)
        services = services_of(request)
        try:
            await run_in_threadpool(services.directory.set_presence, session.agent.id, body.get("presence"))
        except AgentError as exc:
            return _error(422, "invalid_presence", str(exc))
        services.feed.touch()  # the agent's own streams recompute what they are offered
        fresh = await current_session(request)
        return JSONResponse(me(fresh, services.console))

    @router.get("/api/queue")
    async def queue(request: Request) -> Response:
        session = await current_session(request)
        services = services_of(request)
        return JSONResponse(await run_in_threadpool(services.console.queue_view, session.agent))

    @router.get("/api/conversations/{conversation_id}")
    async def packet(conversation_id: str, request: Request) -> Response:
        session = await current_session(request)
        console = services_of(request).console
        return JSONResponse(await run_in_threadpool(console.packet, conversation_id, session.agent))

    @router.get("/api/conversations/{conversation_id}/export")
    async def export(conversation_id: str, request: Request) -> Response:
        """The transcript as it may leave the console: personal data masked."""
        session = await current_session(request)
        console = services_of(request).console
        data = await run_in_threadpool(console.packet, conversation_id, session.agent)
        lines = [
            f"conversation {conversation_id}  reason={data['handoff']['reason']}  "
            f"language={data['conversation']['language']}  channel={data['conversation']['channel']}"
        ]
        for entry in mask_transcript(data["transcript"]):
            who = entry["agent"] or entry["author"]
            lines.append(f"[{entry['at']}] {who}: {entry['text']}")
        return PlainTextResponse(
            "\n".join(lines) + "\n",
            headers={"Content-Disposition": f'attachment; filename="transcript-{conversation_id}.txt"'},
        )

    async def act(request: Request, conversation_id: str, action: str) -> Response:
        session = await current_session(request, write=True)
        body = await json_body(request)
        console = services_of(request).console
        if action == "reply":
            message_id = await run_in_threadpool(
                console.reply, conversation_id, session.agent, str(body.get("text") or "")
            )
            return JSONResponse({"ok": True, "message_id": message_id})
        method = {"claim": console.claim, "handback": console.hand_back, "close": console.close}[action]
        await run_in_threadpool(method, conversation_id, session.agent)
        return JSONResponse({"ok": True})

    @router.post("/api/conversations/{conversation_id}/{action}")
    async def conversation_action(conversation_id: str, action: str, request: Request) -> Response:
        if action not in ("claim", "reply", "handback", "close"):
            return _error(404, "not_found", "unknown action")
        return await act(request, conversation_id, action)

    @router.get("/api/stream")
    async def stream(request: Request) -> Response:
        session = await current_session(request)
        conversation = request.query_params.get("conversation") or None
        after = query_int(request.query_params.get("after") or request.headers.get("last-event-id"), 0)
        services = services_of(request)
        if conversation is not None:  # the same permission check as opening the chat
            await run_in_threadpool(services.console.packet, conversation, session.agent)
        return StreamingResponse(
            ConsoleStream(services, request.cookies.get(COOKIE) or "", conversation, after).events(request),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @router.get("/api/metrics")
    async def metrics(request: Request) -> Response:
        await current_session(request)
        days = max(1, min(query_int(request.query_params.get("days"), 30), 366))
        since = datetime.now(timezone.utc) - timedelta(days=days)
        engine = services_of(request).console.engine
        return JSONResponse(await run_in_threadpool(lambda: compute_metrics(engine, since=since)))

    # -- admin ----------------------------------------------------------------------------

    @router.get("/api/agents")
    async def list_agents(request: Request) -> Response:
        await current_session(request, admin=True)
        agents = await run_in_threadpool(services_of(request).directory.all)
        return JSONResponse([a.public() for a in agents])

    @router.post("/api/agents")
    async def create_agent(request: Request) -> Response:
        await current_session(request, write=True, admin=True)
        body = await json_body(request)
        directory = services_of(request).directory
        try:
            agent = await run_in_threadpool(
                lambda: directory.create(
                    str(body.get("username") or ""),
                    str(body.get("password") or ""),
                    display_name=body.get("display_name") or None,
                    role=str(body.get("role") or "agent"),
                    languages=body.get("languages") or [],
                )
            )
        except AgentError as exc:
            return _error(422, "invalid_agent", str(exc))
        return JSONResponse(agent.public(), status_code=201)

    @router.post("/api/agents/{agent_id}")
    async def update_agent(agent_id: int, request: Request) -> Response:
        session = await current_session(request, write=True, admin=True)
        body = await json_body(request)
        fields = ("display_name", "role", "languages", "active", "password")
        allowed = {k: body[k] for k in fields if k in body}
        if "active" in allowed and not isinstance(allowed["active"], bool):
            return _error(422, "invalid_agent", "active must be true or false")
        demoting = allowed.get("active") is False or allowed.get("role", "admin") != "admin"
        if agent_id == session.agent.id and demoting:
            return _error(409, "self_lockout", "an admin cannot deactivate or demote themselves")
        directory = services_of(request).directory
        try:
            agent = await run_in_threadpool(lambda: directory.update(agent_id, **allowed))
        except AgentError as exc:
            return _error(422, "invalid_agent", str(exc))
        services_of(request).feed.touch()  # a deactivated agent's open streams stop now
        return JSONResponse(agent.public())

    @router.get("/api/hours")
    async def get_hours(request: Request) -> Response:
        await current_session(request)
        hours = await run_in_threadpool(services_of(request).hours.current)
        return JSONResponse({**hours_spec(hours), "open_now": hours.is_open(datetime.now(timezone.utc))})

    @router.post("/api/hours")
    async def set_hours(request: Request) -> Response:
        session = await current_session(request, write=True, admin=True)
        body = await json_body(request)
        repository = services_of(request).hours
        try:
            hours = await run_in_threadpool(repository.save, body, session.agent.username)
        except HoursError as exc:
            return _error(422, "invalid_hours", str(exc))
        return JSONResponse({**hours_spec(hours), "open_now": hours.is_open(datetime.now(timezone.utc))})

    @router.get("/api/outages")
    async def list_outages(request: Request) -> Response:
        await current_session(request)
        return JSONResponse(await run_in_threadpool(services_of(request).outages.open_outages))

    @router.post("/api/outages")
    async def add_outage(request: Request) -> Response:
        await current_session(request, write=True, admin=True)
        body = await json_body(request)
        region, services_text = str(body.get("region") or "").strip(), str(body.get("services") or "").strip()
        hours = body.get("expected_fix_hours")
        if not region or not services_text or len(region) > 64 or len(services_text) > 64:
            return _error(422, "invalid_outage", "region and services are required (at most 64 characters)")
        if hours is not None and (not isinstance(hours, (int, float)) or not 0 < hours <= 24 * 30):
            return _error(422, "invalid_outage", "expected_fix_hours must be a number of hours up to 720")
        now = datetime.now(timezone.utc)
        fix = now + timedelta(hours=hours) if hours else None
        repository = services_of(request).outages
        await run_in_threadpool(repository.add, region.lower(), services_text, now, fix)
        return JSONResponse({"ok": True}, status_code=201)

    @router.post("/api/outages/{outage_id}/resolve")
    async def resolve_outage(outage_id: int, request: Request) -> Response:
        await current_session(request, write=True, admin=True)
        await json_body(request)
        resolved = await run_in_threadpool(services_of(request).outages.resolve, outage_id)
        return JSONResponse({"ok": resolved}, status_code=200 if resolved else 404)

    return router


def query_int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


def page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
            "form-action 'self'"
        ),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _sse(event: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, default=str)}\n\n"


SEEN_EVERY_S = 20.0  # how often an open console refreshes the agent's "last seen" (a write)
KEEPALIVE_S = 15.0


class ConsoleStream:
    """One agent's live view: the queue when it changes, and the open chat's new messages and
    owner. Messages come from the change feed's memory; the database is read for the queue only
    when an owner changed (an escalation, claim, hand-back or close), for a full resync, and to
    check that the session still holds before customer text is sent."""

    def __init__(self, services: ConsoleServices, token: str, conversation: str | None, after: int) -> None:
        self.services, self.token, self.conversation = services, token, conversation
        self.after = after
        self.sent: set[int] = set()
        self.last_queue: str | None = None
        self.last_owner: str | None = None
        self.last_seen = 0.0

    async def events(self, request: Request) -> AsyncIterator[str]:
        feed = self.services.feed
        seq, version = feed.seq, feed.version
        yield "retry: 2000\n\n"
        chunks = await self.resync()
        while chunks is not None and not await request.is_disconnected():
            for chunk in chunks:
                yield chunk
            previous = version
            version = await feed.wait(version, KEEPALIVE_S)
            changes, complete = feed.since(seq)
            seq = feed.seq
            chunks = await self.next_chunks(changes, complete, touched=version != previous and not changes)
        if chunks is None:  # logged out, deactivated or expired meanwhile
            yield _sse("logout", {})

    async def next_chunks(self, changes: list[Event], complete: bool, touched: bool) -> list[str] | None:
        if not complete or time.monotonic() - self.last_seen >= SEEN_EVERY_S:
            return await self.resync()
        chunks = self.from_feed(changes)
        if touched or any(c.kind == "owner" for c in changes):
            queue = await self.queue_chunks()
            return None if queue is None else chunks + queue
        if chunks and not await self.still_allowed():
            return None
        return chunks or [": keep-alive\n\n"]

    async def still_allowed(self) -> bool:
        """Checked before customer text goes out: only this chat's stream pays the query."""
        return await run_in_threadpool(self.services.directory.session, self.token) is not None

    def from_feed(self, changes: list[Event]) -> list[str]:
        mine = [c for c in changes if c.conversation_id == self.conversation]
        chunks = self.message_chunks([c.data for c in mine if c.kind == "message"])
        owners = [c.data["owner"] for c in mine if c.kind == "owner"]
        return chunks + (self.owner_chunks(owners[-1]) if owners else [])

    async def resync(self) -> list[str] | None:
        """Everything from the database: used at the start and when the feed cannot tell."""
        snapshot = await run_in_threadpool(
            _console_snapshot, self.services, self.token, self.conversation, max([self.after, *self.sent])
        )
        if snapshot is None:
            return None
        self.last_seen = time.monotonic()
        view, rows, owner = snapshot
        return self.view_chunks(view) + self.message_chunks(rows) + self.owner_chunks(owner)

    async def queue_chunks(self) -> list[str] | None:
        view = await run_in_threadpool(_queue_view, self.services, self.token)
        return None if view is None else self.view_chunks(view)

    def view_chunks(self, view: dict[str, Any]) -> list[str]:
        comparable = json.dumps(_without_waiting(view), sort_keys=True)
        if comparable == self.last_queue:
            return []
        self.last_queue = comparable
        return [_sse("queue", view)]

    def message_chunks(self, rows: list[dict[str, Any]]) -> list[str]:
        chunks = []
        for row in rows:
            if row["id"] > self.after and row["id"] not in self.sent:
                self.sent.add(row["id"])
                entry = transcript_entry(row)
                chunks.append(_sse("message", entry, entry["id"]))
        return chunks

    def owner_chunks(self, owner: str | None) -> list[str]:
        if owner is None or owner == self.last_owner:
            return []
        self.last_owner = owner
        return [_sse("owner", {"owner": owner})]


def _without_waiting(view: dict[str, Any]) -> dict[str, Any]:
    strip = lambda entries: [{k: v for k, v in e.items() if k != "waiting_s"} for e in entries]  # noqa: E731
    return {**view, "offered": strip(view["offered"]), "mine": strip(view["mine"])}


def _queue_view(services: ConsoleServices, token: str) -> dict[str, Any] | None:
    """What the session's agent is offered now; None when the session no longer holds."""
    session = services.directory.session(token)  # fresh: presence or languages may have changed
    return services.console.queue_view(session.agent) if session is not None else None


def _console_snapshot(
    services: ConsoleServices, token: str, conversation: str | None, after: int
) -> tuple[dict[str, Any], list[dict[str, Any]], str | None] | None:
    session = services.directory.session(token)
    if session is None:
        return None
    view = services.console.queue_view(session.agent)
    services.directory.seen(session.agent.id)
    if conversation is None:
        return view, [], None
    rows = services.store.messages_after([conversation], after)
    conv = services.store.get_conversation(conversation)
    return view, rows, conv.owner if conv else None


def install_error_handlers(app: Any) -> None:
    """Turn console and API errors into JSON errors with their status."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, str(exc))

    @app.exception_handler(ConsoleError)
    async def console_error(_request: Request, exc: ConsoleError) -> JSONResponse:
        return _error(exc.status, "not_possible", str(exc))
