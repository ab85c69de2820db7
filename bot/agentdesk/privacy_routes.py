"""The console's privacy screens under ``/agent`` (admins only, CSRF like every change): export
everything about one customer, or erase it, here and in Rasa's tracker store (handoff/privacy.py).

Both are POSTs with a JSON body ``{"channel": "telegram", "sender": "123456"}`` (the customer's
channel identity); both are written to the audit log with the admin's username. The export is
answered as JSON and not kept anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.agentdesk.console_session import current_session, json_body
from bot.web.http import error_response
from handoff.privacy import Privacy, PrivacyError, TrackerUnavailable

# Picks the bound method to run, called as (channel, sender, admin's username).
CustomerOperation = Callable[[Privacy], Callable[[str, str, str], dict[str, Any]]]


def privacy_of(request: Request) -> Privacy:
    return request.app.state.privacy


def install_privacy_routes(router: APIRouter) -> None:
    @router.post("/api/admin/privacy/export")
    async def export_customer(request: Request) -> Response:
        return await _for_customer(
            request, lambda privacy: privacy.export_customer, headers={"Cache-Control": "no-store"}
        )

    @router.post("/api/admin/privacy/erase")
    async def erase_customer(request: Request) -> Response:
        return await _for_customer(request, lambda privacy: privacy.erase_customer)


async def _for_customer(
    request: Request, operation: CustomerOperation, headers: dict[str, str] | None = None
) -> Response:
    """Runs the operation (export or erase) on the customer the JSON body names, as the admin
    logged in; its result is the answer, a customer that cannot be one is 422, Rasa's store out
    of reach 503."""
    session = await current_session(request, write=True, admin=True)
    body = await json_body(request)
    channel, sender = str(body.get("channel") or ""), str(body.get("sender") or "")
    run = operation(privacy_of(request))
    try:
        result = await run_in_threadpool(run, channel, sender, session.agent.username)
    except TrackerUnavailable as exc:
        return error_response(503, "tracker_unavailable", str(exc))
    except PrivacyError as exc:
        return error_response(422, "invalid_customer", str(exc))
    return JSONResponse(result, headers=headers)
