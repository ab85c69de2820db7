"""Working on a chat with others, under ``/agent``: the typing indicator the customer sees, the
colleagues online now and passing a chat to one of them or to a language team."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.agentdesk.console_session import current_session, json_body, services_of
from bot.web.http import error_response
from handoff.transfer import TransferError, TransferRequest


def install_collab_routes(router: APIRouter) -> None:
    @router.post("/api/conversations/{conversation_id}/typing")
    async def typing(conversation_id: str, request: Request) -> Response:
        """The agent is typing in their chat (throttled: bot/core/typing_signals.py)."""
        session = await current_session(request, write=True)
        console = services_of(request).console
        sent = await run_in_threadpool(console.typing, conversation_id, session.agent)
        return JSONResponse({"ok": True, "sent": sent})

    @router.get("/api/colleagues")
    async def colleagues(request: Request) -> Response:
        """The other agents online now, with their languages: whom a chat can be passed to."""
        session = await current_session(request)
        console = services_of(request).console
        return JSONResponse({"colleagues": await run_in_threadpool(console.colleagues, session.agent)})

    @router.post("/api/conversations/{conversation_id}/transfer")
    async def transfer(conversation_id: str, request: Request) -> Response:
        """``{"to": "<username>", "note": ...}`` or ``{"language": "fr", "note": ...}``."""
        session = await current_session(request, write=True)
        body = await json_body(request)
        try:
            wanted = TransferRequest.parse(body)
        except TransferError as exc:
            return error_response(413 if exc.code == "note_too_long" else 422, exc.code, str(exc))
        console = services_of(request).console
        return JSONResponse(await run_in_threadpool(console.transfer, conversation_id, session.agent, wanted))
