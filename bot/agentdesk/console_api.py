"""HTTP API and pages of the agent console, mounted by the gateway under ``/agent``.

:func:`build_router` puts together the agents' routes (agent_routes: the page, the session, the
queue, chats, the live stream, metrics), the workspace (workspace_routes: the pages' texts and
scripts, the console language, closed chats, notes, snooze), working with others (collab_routes: typing,
transfer), the admin screens (admin_routes) and the privacy
screens (privacy_routes: a customer's export and erasure). What they share
(services, session, CSRF, request helpers, the security notes) is in console_session; the live
view in console_stream.
"""

from __future__ import annotations

from fastapi import APIRouter

from bot.agentdesk.admin_routes import install_admin_routes
from bot.agentdesk.agent_routes import install_agent_routes
from bot.agentdesk.collab_routes import install_collab_routes
from bot.agentdesk.console_session import COOKIE, ConsoleServices, install_console_errors
from bot.agentdesk.customer_routes import install_customer_routes
from bot.agentdesk.privacy_routes import install_privacy_routes
from bot.agentdesk.workspace_routes import install_workspace_routes

__all__ = ["COOKIE", "ConsoleServices", "build_router", "install_console_errors"]


def build_router() -> APIRouter:
    router = APIRouter(prefix="/agent")
    install_workspace_routes(router)  # before the agent routes: .../notes, .../snooze are not actions
    install_collab_routes(router)  # nor .../typing and .../transfer
    install_agent_routes(router)
    install_customer_routes(router)
    install_admin_routes(router)
    install_privacy_routes(router)
    return router
