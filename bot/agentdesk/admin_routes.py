"""The console's admin screens under ``/agent``: the agents, the opening hours and the outages.
Changes are for admins; every agent may read the hours and the open outages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.agentdesk.console_session import current_session, json_body, services_of
from bot.core.hours import HoursError, hours_spec
from bot.web.http import MAX_ROW_ID, error_response
from handoff.agents import AgentError


def install_admin_routes(router: APIRouter) -> None:
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
            return error_response(422, "invalid_agent", str(exc))
        return JSONResponse(agent.public(), status_code=201)

    @router.post("/api/agents/{agent_id}")
    async def update_agent(agent_id: int, request: Request) -> Response:
        session = await current_session(request, write=True, admin=True)
        body = await json_body(request)
        fields = ("display_name", "role", "languages", "active", "password")
        allowed = {k: body[k] for k in fields if k in body}
        if "active" in allowed and not isinstance(allowed["active"], bool):
            return error_response(422, "invalid_agent", "active must be true or false")
        demoting = allowed.get("active") is False or allowed.get("role", "admin") != "admin"
        if agent_id == session.agent.id and demoting:
            return error_response(409, "self_lockout", "an admin cannot deactivate or demote themselves")
        if not 0 < agent_id <= MAX_ROW_ID:  # no agent has it (and SQLite cannot even look it up)
            return error_response(422, "invalid_agent", "no such agent")
        directory = services_of(request).directory
        try:
            agent = await run_in_threadpool(lambda: directory.update(agent_id, **allowed))
        except AgentError as exc:
            return error_response(422, "invalid_agent", str(exc))
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
            return error_response(422, "invalid_hours", str(exc))
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
            return error_response(
                422, "invalid_outage", "region and services are required (at most 64 characters)"
            )
        if hours is not None and (not isinstance(hours, (int, float)) or not 0 < hours <= 24 * 30):
            return error_response(
                422, "invalid_outage", "expected_fix_hours must be a number of hours up to 720"
            )
        now = datetime.now(timezone.utc)
        fix = now + timedelta(hours=hours) if hours else None
        repository = services_of(request).outages
        await run_in_threadpool(repository.add, region.lower(), services_text, now, fix)
        return JSONResponse({"ok": True}, status_code=201)

    @router.post("/api/outages/{outage_id}/resolve")
    async def resolve_outage(outage_id: int, request: Request) -> Response:
        await current_session(request, write=True, admin=True)
        await json_body(request)
        outages = services_of(request).outages
        # No outage has an id beyond a 64-bit integer (and SQLite cannot even look one up).
        resolved = 0 < outage_id <= MAX_ROW_ID and await run_in_threadpool(outages.resolve, outage_id)
        if not resolved:
            return error_response(404, "not_found", "no such outage, or it is resolved already")
        return JSONResponse({"ok": True})
