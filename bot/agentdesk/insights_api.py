"""The admin console's traffic insights: messages the bot did not understand, grouped for
editors to assign to an intent and export as training data, and topic trends with surge alerts.

Routes under ``/agent`` (admin only), on :class:`bot.insights.Insights`; page: static/insights.html.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.agentdesk.console_session import (
    STATIC_DIR,
    current_session,
    json_body,
    page_headers,
    query_int,
    services_of,
)
from bot.core.db import NLU_TURN_STATUSES
from bot.core.settings import SUPPORTED_LANGUAGES
from bot.web.http import ApiError, error_response

if TYPE_CHECKING:
    from bot.insights import Insights


MAX_INSIGHT_IDS = 2000


def build_insights_router() -> APIRouter:
    router = APIRouter(prefix="/agent")
    install_insights_routes(router)
    return router


def install_insights_routes(router: APIRouter) -> None:
    @router.get("/insights", response_class=HTMLResponse)
    async def insights_page() -> HTMLResponse:
        page = (STATIC_DIR / "insights.html").read_text(encoding="utf-8")
        return HTMLResponse(page, headers=page_headers())

    @router.get("/api/insights/unhandled")
    async def unhandled(request: Request) -> Response:
        await current_session(request, admin=True)
        insights = _insights(request)
        params = request.query_params
        days = _days(params.get("days"), 7)
        language = _language_filter(params.get("language"))
        status = (params.get("status") or "new").strip().lower()
        if status not in NLU_TURN_STATUSES:
            raise ApiError(422, "invalid_filter", f"status must be one of {', '.join(NLU_TURN_STATUSES)}")
        since = datetime.now(timezone.utc) - timedelta(days=days)

        def load() -> dict[str, Any]:
            insights.sync()
            groups = insights.unhandled(since=since, language=language, status=status)
            return {"groups": [_group_json(g) for g in groups], "intents": list(insights.intents())}

        return JSONResponse(await _run_insights(load))

    @router.post("/api/insights/assign")
    async def assign(request: Request) -> Response:
        session = await current_session(request, write=True, admin=True)
        body = await json_body(request)
        insights = _insights(request)
        ids = _item_ids(body)
        intent = body.get("intent")
        if not isinstance(intent, str) or not intent.strip():
            raise ApiError(422, "invalid_intent", "choose the intent to assign these messages to")
        by = session.agent.username
        changed = await _run_insights(lambda: insights.assign(ids, intent.strip(), by))
        return JSONResponse({"changed": changed})

    @router.post("/api/insights/dismiss")
    async def dismiss(request: Request) -> Response:
        return await _review(request, "dismiss")

    @router.post("/api/insights/export")
    async def export_examples(request: Request) -> Response:
        """The assigned messages of one language (``{"language": "nl"}``) as Rasa NLU training
        data (YAML). They are marked exported, so the next export holds only what was assigned
        since; ``"mark": false`` previews without marking. A POST with the session's CSRF
        token: a prefetch or a link cannot mark messages."""
        await current_session(request, write=True, admin=True)
        body = await json_body(request)
        insights = _insights(request)
        language = body.get("language")
        mark = body.get("mark", True)
        if not isinstance(language, str) or _language_filter(language) is None:
            raise ApiError(422, "invalid_filter", "choose the language to export: nl, fr or en")
        if not isinstance(mark, bool):
            raise ApiError(422, "invalid_filter", "mark must be true or false")
        language = language.strip().lower()
        files = await _run_insights(lambda: insights.export(language=language, mark=mark))
        content = (files or {}).get(language)
        if not content or not content.strip():
            raise ApiError(
                404,
                "nothing_to_export",
                f"nothing new to export in {language}: no message was assigned to an intent since the "
                "last export, or the training data has them all already",
            )
        return Response(
            content,
            media_type="text/yaml; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="traffic-{language}.yml"',
                "Cache-Control": "no-store",
            },
        )

    @router.post("/api/insights/needs-content")
    async def needs_content(request: Request) -> Response:
        """No intent fits these messages: the bot needs a new intent or article for them."""
        return await _review(request, "needs_content")

    @router.post("/api/insights/reopen")
    async def reopen(request: Request) -> Response:
        """Back to the messages to look at (an editor's mistake, or the new content exists)."""
        return await _review(request, "reopen")

    @router.get("/api/insights/export")
    async def export_by_get() -> Response:
        """Exporting marks messages: never on a GET (a prefetch, a second download)."""
        message = "export with a POST carrying the session's CSRF token"
        return error_response(405, "method_not_allowed", message, headers={"Allow": "POST"})

    @router.get("/api/insights/trends")
    async def trends(request: Request) -> Response:
        await current_session(request, admin=True)
        insights = _insights(request)
        params = request.query_params
        days = _days(params.get("days"), 14)
        language = _language_filter(params.get("language"))
        channel = (params.get("channel") or "").strip().lower() or None
        if channel in ("all", "*"):
            channel = None
        if channel is not None and (len(channel) > 32 or not channel.replace("_", "").isalnum()):
            raise ApiError(
                422, "invalid_filter", "channel must be a channel name such as web, telegram or slack"
            )

        def load() -> Any:
            insights.sync()
            return insights.trends(days=days, language=language, channel=channel)

        return JSONResponse(_trends_json(await _run_insights(load)))


async def _review(request: Request, verb: str) -> JSONResponse:
    """Dismiss, "needs new content" or reopen the chosen messages, in the admin's name."""
    session = await current_session(request, write=True, admin=True)
    body = await json_body(request)
    insights, ids = _insights(request), _item_ids(body)
    review = getattr(insights, verb)
    changed = await _run_insights(lambda: review(ids, session.agent.username))
    return JSONResponse({"changed": changed})


def _insights(request: Request) -> Insights:
    insights = services_of(request).insights
    if insights is None:
        raise ApiError(503, "insights_unavailable", "traffic insights are not available on this gateway")
    return insights


async def _run_insights(work: Any) -> Any:
    """Blocking insights work in the thread pool; an editor's mistake becomes a 422."""
    from bot.insights import InsightsError  # loaded with the insights themselves

    try:
        return await run_in_threadpool(work)
    except InsightsError as exc:
        raise ApiError(422, "invalid_insights_request", str(exc)) from exc


def _days(raw: str | None, default: int) -> int:
    return max(1, min(query_int(raw, default), 366))


def _language_filter(raw: str | None) -> str | None:
    language = (raw or "").strip().lower()
    if language in ("", "all", "*"):
        return None
    if language not in SUPPORTED_LANGUAGES:
        raise ApiError(422, "invalid_filter", "language must be nl, fr or en")
    return language


def _item_ids(body: dict[str, Any]) -> list[int]:
    ids = body.get("ids")
    valid = isinstance(ids, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
    if not valid or not ids:
        raise ApiError(422, "invalid_ids", "ids must be a non-empty list of message ids")
    if len(ids) > MAX_INSIGHT_IDS:
        raise ApiError(413, "too_many_ids", f"at most {MAX_INSIGHT_IDS} messages at once")
    return list(dict.fromkeys(ids))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _group_json(group: Any) -> dict[str, Any]:
    return {
        "key": group.key,
        "language": group.language,
        "label": group.label,
        "suggestion": group.suggestion,
        # how sure the model was of it; below SUGGESTION_MIN_CONFIDENCE the page does not choose
        # it in advance (one click on Assign would teach the model its own guess)
        "suggestion_confidence": group.suggestion_confidence,
        "preselect": group.confident,
        "reasons": dict(group.reasons),
        "size": len(group.items),
        "items": [
            {
                "id": item.id,
                "text": item.text,
                "channel": item.channel,
                "language": item.language,
                "intent": item.intent,
                "confidence": item.confidence,
                "suggestion": item.suggestion,
                "suggestion_confidence": item.suggestion_confidence,
                "reason": item.reason,
                "created_at": _iso(item.created_at),
                "conversation_id": item.conversation_id,
                "status": item.status,
                "assigned_intent": item.assigned_intent,
            }
            for item in group.items
        ],
    }


def _trends_json(trends: Any) -> dict[str, Any]:
    """Per-day counts per topic, summed over languages and channels (the filters narrow them)."""
    days = [day.isoformat() for day in trends.days]
    series = trends.per_topic()
    return {
        "days": days,
        "topics": list(series),
        "series": series,
        "totals": {topic: sum(counts) for topic, counts in series.items()},
        "channels": sorted({r.channel for r in trends.rows}),
        "rows": [
            {
                "day": r.day.isoformat(),
                "topic": r.topic,
                "language": r.language,
                "channel": r.channel,
                "count": r.count,
            }
            for r in trends.rows
        ],
        "alerts": [
            {
                "id": a.id,
                "topic": a.topic,
                "department": a.department,
                "window_start": _iso(a.window_start),
                "window_end": _iso(a.window_end),
                "count": a.count,
                "baseline": a.baseline,
                "top_intents": list(a.top_intents),
                "created_at": _iso(a.created_at),
            }
            for a in trends.alerts
        ],
    }
