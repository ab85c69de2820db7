"""The agents' workspace under ``/agent``: the pages' texts and scripts, the agent's console
language, the closed chats, the internal notes on a conversation and snoozing a chat."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.agentdesk.console_session import STATIC_DIR, current_session, json_body, me, services_of
from bot.agentdesk.console_texts import page_setup, texts_script
from bot.core.rules import default_rules
from bot.web.http import ApiError, error_response
from handoff.agents import AgentError
from handoff.queue_search import ClosedQuery, QueryError, QueueQuery
from handoff.snooze import SnoozeError, SnoozeRequest, snooze_setup
from handoff.workspace import WRAP_UPS

SCRIPTS_DIR = STATIC_DIR / "js"
_SCRIPT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
_SCRIPT_TYPE = "text/javascript; charset=utf-8"


def queue_query(request: Request) -> QueueQuery:
    """The queue's search, filters, sort and page from the query string (422 when unknown)."""
    try:
        return QueueQuery.parse(request.query_params)
    except QueryError as exc:
        raise ApiError(422, "invalid_filter", str(exc)) from exc


def install_workspace_routes(router: APIRouter) -> None:
    @router.get("/texts.js", include_in_schema=False)
    async def texts(request: Request) -> Response:
        """``CONSOLE_TEXTS`` (bot/agentdesk/console_texts.yml) and ``CONSOLE_SETUP`` for the pages."""
        setup = page_setup(services_of(request).settings.time_zone, sorted(default_rules()), list(WRAP_UPS))
        setup["snooze"] = snooze_setup()
        return Response(texts_script(setup), media_type=_SCRIPT_TYPE, headers={"Cache-Control": "no-cache"})

    @router.get("/js/{name}.js", include_in_schema=False)
    async def script(name: str) -> Response:
        """The pages' scripts (static/js/): one file per part of a page."""
        path = SCRIPTS_DIR / f"{name}.js"
        if not _SCRIPT_NAME.match(name) or not path.is_file():
            return error_response(404, "not_found", "no such script")
        body = path.read_text(encoding="utf-8")
        return Response(body, media_type=_SCRIPT_TYPE, headers={"Cache-Control": "no-cache"})

    @router.post("/api/preferences")
    async def preferences(request: Request) -> Response:
        """The agent's console language: ``{"ui_language": "fr"}``, or null for the browser's."""
        session = await current_session(request, write=True)
        body = await json_body(request)
        language = body.get("ui_language")
        services = services_of(request)
        if language is not None and not isinstance(language, str):
            return error_response(422, "invalid_language", "ui_language must be a language code or null")
        try:
            await run_in_threadpool(services.directory.set_ui_language, session.agent.id, language or None)
        except AgentError as exc:
            return error_response(422, "invalid_language", str(exc))
        fresh = await current_session(request)
        return JSONResponse(me(fresh, services.console))

    @router.get("/api/closed")
    async def closed(request: Request) -> Response:
        """Chats that ended (closed, handed back, left the queue, abandoned), newest first."""
        session = await current_session(request)
        try:
            query = ClosedQuery.parse(request.query_params)
        except QueryError as exc:
            return error_response(422, "invalid_filter", str(exc))
        console = services_of(request).console
        return JSONResponse(await run_in_threadpool(console.closed_view, session.agent, query))

    @router.post("/api/conversations/{conversation_id}/notes")
    async def add_note(conversation_id: str, request: Request) -> Response:
        """An internal note for the agents (``{"text": ...}``); never sent to the customer."""
        session = await current_session(request, write=True)
        body = await json_body(request)
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            return error_response(422, "empty_note", "text must be the note's text")
        console = services_of(request).console
        note = await run_in_threadpool(console.add_note, conversation_id, session.agent, text or "")
        return JSONResponse(note, status_code=201)

    @router.post("/api/conversations/{conversation_id}/snooze")
    async def snooze(conversation_id: str, request: Request) -> Response:
        """Put the agent's chat aside: ``{"preset": "15m" | "1h" | "3h" | "tomorrow"}`` or
        ``{"until": "2026-12-05T14:30"}`` (without an offset: TIME_ZONE) (handoff/snooze.py)."""
        session = await current_session(request, write=True)
        body = await json_body(request)
        try:
            wanted = SnoozeRequest.parse(body)
        except SnoozeError as exc:
            return error_response(422, "invalid_snooze", str(exc))
        services = services_of(request)
        result = await run_in_threadpool(services.console.snooze, conversation_id, session.agent, wanted)
        services.feed.touch()  # this replica's streams show the agent's chats again
        return JSONResponse(result)

    @router.post("/api/conversations/{conversation_id}/unsnooze")
    async def unsnooze(conversation_id: str, request: Request) -> Response:
        """End the chat's snooze now."""
        session = await current_session(request, write=True)
        services = services_of(request)
        result = await run_in_threadpool(services.console.unsnooze, conversation_id, session.agent)
        services.feed.touch()
        return JSONResponse(result)
