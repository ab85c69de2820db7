"""The customer panel's route under ``/agent``: who the customer of a verified conversation is
(handoff/customer.py). Read-only; every opening is audited there."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.agentdesk.console_session import current_session, services_of


def install_customer_routes(router: APIRouter) -> None:
    @router.get("/api/conversations/{conversation_id}/customer")
    async def customer(conversation_id: str, request: Request) -> Response:
        """The panel, for an agent who may read the conversation; ``{"verified": null}`` when it
        is not verified (or no customer panel is wired in)."""
        session = await current_session(request)
        services = services_of(request)
        if services.customers is None:
            await run_in_threadpool(services.console.readable, conversation_id, session.agent)
            return JSONResponse({"verified": None})
        view = await run_in_threadpool(services.customers.view, conversation_id, session.agent)
        return JSONResponse(view)
