"""The gateway on a real server (uvicorn in a thread): for what Starlette's TestClient cannot do,
such as reading server-sent events, a browser, or a channel that polls in the gateway's loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from bot.channels.common import Channel
from bot.core.settings import Settings
from bot.web.gateway import create_app


@contextmanager
def live_gateway(settings: Settings, channels: list[Channel] | None = None) -> Iterator[httpx.Client]:
    """The gateway on uvicorn, on a free port, in a thread; yields a client for it.

    ``channels`` as in ``create_app``: by default the channels the settings enable."""
    config = uvicorn.Config(
        create_app(settings, channels=channels),
        host="127.0.0.1",
        port=0,
        ws="none",  # rasa pins websockets 10, which uvicorn's websocket protocol cannot use (as bot/run.py)
        log_level="warning",
        proxy_headers=False,  # as bot/run.py: the client's address by TRUSTED_PROXIES alone
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as http:
            yield http
    finally:
        server.should_exit = True
        thread.join(10)
