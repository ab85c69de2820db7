"""The agents' side of the console under ``/agent``: the page and its scripts, logging in and
out, presence, the queue, a chat's packet and export, what an agent does with a chat (claim,
reply, hand back, close), the live stream and the metrics."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.agentdesk.console_session import (
    COOKIE,
    STATIC_DIR,
    current_session,
    json_body,
    me,
    page_headers,
    query_int,
    services_of,
)
from bot.agentdesk.console_stream import FAREWELL, ConsoleStream
from bot.agentdesk.workspace_routes import queue_query
from bot.core.masking import mask_transcript
from bot.web.http import (
    client_address,
    error_response,
    event_id,
    events_script_response,
    feed_stream,
    sse_response,
)
from handoff.agents import AgentError
from handoff.metrics import compute_metrics
from handoff.throttle import Throttled

ACTIONS = ("claim", "reply", "handback", "close")


def install_agent_routes(router: APIRouter) -> None:
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

    @router.get("/events.js", include_in_schema=False)
    async def events_script() -> Response:
        """``window.EVENTS``: the names of the stream's events (bot/core/events.py)."""
        return events_script_response()

    @router.post("/api/login")
    async def login(request: Request) -> Response:
        body = await json_body(request)
        username, password = str(body.get("username") or ""), str(body.get("password") or "")
        services = services_of(request)
        # The client as the chat's rate limit sees it: X-Forwarded-For only from TRUSTED_PROXIES.
        client = client_address(request, services.settings.trusted_proxies)
        try:  # handoff/throttle.py: per client, per username for the clients failing on it
            attempt = await run_in_threadpool(services.throttle.begin, client, username)
        except Throttled as exc:
            response = error_response(429, "too_many_attempts", str(exc))
            response.headers["Retry-After"] = str(exc.retry_after_s)
            return response
        agent = await run_in_threadpool(services.directory.authenticate, username, password)
        if agent is None:
            return error_response(401, "bad_credentials", "wrong username or password")
        await run_in_threadpool(services.throttle.succeeded, attempt)
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
            return error_response(422, "invalid_presence", str(exc))
        services.feed.touch()  # the agent's own streams recompute what they are offered
        fresh = await current_session(request)
        return JSONResponse(me(fresh, services.console))

    @router.get("/api/queue")
    async def queue(request: Request) -> Response:
        """The agent's chats and one page of the waiting chats offered to them: ``q`` (search),
        ``language``, ``reason``, ``priority``, ``channel``, ``min_wait`` (minutes), ``sort``
        (priority, oldest, newest), ``offset``, ``limit`` (handoff/queue_search.py)."""
        session = await current_session(request)
        services = services_of(request)
        query = queue_query(request)
        return JSONResponse(await run_in_threadpool(services.console.queue_view, session.agent, query))

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
        if action == "close":  # with the agent's wrap-up code (handoff/workspace.py), if any
            wrap_up = body.get("wrap_up")
            if wrap_up is not None and not isinstance(wrap_up, str):
                return error_response(422, "invalid_wrap_up", "wrap_up must be a wrap-up code")
            await run_in_threadpool(console.close, conversation_id, session.agent, wrap_up)
            return JSONResponse({"ok": True})
        method = {"claim": console.claim, "handback": console.hand_back}[action]
        await run_in_threadpool(method, conversation_id, session.agent)
        return JSONResponse({"ok": True})

    @router.post("/api/conversations/{conversation_id}/{action}")
    async def conversation_action(conversation_id: str, action: str, request: Request) -> Response:
        if action not in ACTIONS:
            return error_response(404, "not_found", "unknown action")
        return await act(request, conversation_id, action)

    @router.get("/api/stream")
    async def stream(request: Request) -> Response:
        session = await current_session(request)
        conversation = request.query_params.get("conversation") or None
        after = event_id(request.query_params.get("after") or request.headers.get("last-event-id"))
        services = services_of(request)
        if conversation is not None:  # the same permission check as opening the chat
            await run_in_threadpool(services.console.packet, conversation, session.agent)
        view = ConsoleStream(services, request.cookies.get(COOKIE) or "", conversation, after)
        return sse_response(feed_stream(request, services.feed, view, farewell=FAREWELL))

    @router.get("/api/metrics")
    async def metrics(request: Request) -> Response:
        await current_session(request)
        days = max(1, min(query_int(request.query_params.get("days"), 30), 366))
        since = datetime.now(timezone.utc) - timedelta(days=days)
        services = services_of(request)
        engine, zone = services.console.engine, services.settings.time_zone
        figures = await run_in_threadpool(lambda: compute_metrics(engine, since=since, time_zone=zone))
        return JSONResponse(figures)
