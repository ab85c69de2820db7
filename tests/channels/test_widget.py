"""The embeddable widget's side of the gateway: widget.js, its config, and CORS for the
endpoints it calls from another origin (answered by the fake Rasa server; no browser)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.channels.webchat import EVENTS_SLOT, SCRIPT
from bot.core import events
from bot.core.settings import SUPPORTED_LANGUAGES, Settings
from bot.web.gateway import create_app

SHOP = "https://shop.example"
OTHER = "https://evil.example"


@pytest.fixture
def shop_only(gateway_settings: Settings) -> Iterator[TestClient]:
    """A gateway whose widget may only be embedded on the shop (WIDGET_ORIGINS)."""
    settings = gateway_settings.with_overrides(widget_origins=(SHOP, "https://www.shop.example"))
    with TestClient(create_app(settings)) as client:
        yield client


def preflight(
    client: TestClient, path: str, origin: str, method: str = "POST", headers: str = ""
) -> httpx.Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    return client.options(path, headers=request_headers)


def test_widget_js_is_served_as_javascript_with_a_short_cache(client: TestClient) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "attachShadow" in response.text and "document.currentScript" in response.text
    again = client.get("/widget.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_widget_js_never_builds_markup_from_data(client: TestClient) -> None:
    script = client.get("/widget.js").text
    assert script.count("innerHTML") == 1 and "holder.innerHTML = TEMPLATE;" in script
    assert "insertAdjacentHTML" not in script and "outerHTML" not in script
    assert "${" not in script.split("const TEMPLATE")[1].split("`;")[0]  # nothing interpolated


def test_config_has_the_persona_with_an_absolute_avatar(client: TestClient) -> None:
    response = client.get("/api/widget/config")
    assert response.status_code == 200
    assert response.json() == {
        "botName": "Mila",
        "avatar": "http://testserver/static/avatar.svg",
        "languages": ["nl", "fr", "en"],
        "defaultLanguage": "nl",
        "maxMessageChars": 2000,
    }
    assert "max-age=300" in response.headers["cache-control"]
    avatar = client.get(response.json()["avatar"])
    assert avatar.status_code == 200 and avatar.headers["content-type"].startswith("image/svg+xml")


def test_an_absolute_avatar_url_is_kept(gateway_settings: Settings) -> None:
    settings = gateway_settings.with_overrides(bot_name="Noor", bot_avatar_url="https://cdn.example/noor.png")
    with TestClient(create_app(settings)) as client:
        body = client.get("/api/widget/config").json()
    assert body["botName"] == "Noor" and body["avatar"] == "https://cdn.example/noor.png"


@pytest.mark.parametrize(
    "path, method, headers",
    [
        ("/api/chat", "POST", "content-type"),
        ("/api/chat", "POST", "x-chat-token"),
        ("/api/chat/history", "GET", ""),
        ("/api/chat/history", "GET", "x-chat-token"),
        ("/api/chat/stream", "GET", "last-event-id"),
        ("/api/widget/config", "GET", ""),
    ],
)
def test_preflight_allows_any_origin_by_default(
    client: TestClient, path: str, method: str, headers: str
) -> None:
    response = preflight(client, path, SHOP, method, headers)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert method in response.headers["access-control-allow-methods"]
    if headers:
        assert headers in response.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers


def test_widget_requests_from_another_origin_are_readable(client: TestClient) -> None:
    origin = {"Origin": SHOP}
    chat = client.post(
        "/api/chat", json={"sender": "w-1", "text": "Bonjour", "locale": "fr-BE"}, headers=origin
    )
    assert chat.status_code == 200 and chat.json()["language"] == "fr"
    assert chat.headers["access-control-allow-origin"] == "*"
    assert "server-timing" in chat.headers["access-control-expose-headers"].lower()
    # On another origin the widget sends no cookie of the gateway (credentials: "omit"): the
    # conversation token the answer carried goes in a header.
    assert chat.json()["sender"] == "w-1" and chat.json()["token"]
    client.cookies.clear()
    token = {"X-Chat-Token": chat.json()["token"]}
    history = client.get("/api/chat/history", params={"sender": "w-1"}, headers={**origin, **token})
    assert [m["author"] for m in history.json()["messages"]] == ["customer", "bot"]
    assert history.headers["access-control-allow-origin"] == "*"
    for path in ("/api/widget/config", "/widget.js"):
        assert client.get(path, headers=origin).headers["access-control-allow-origin"] == "*"
    errors = client.post("/api/chat", json={"sender": "w-1"}, headers=origin)
    assert errors.status_code == 422 and errors.headers["access-control-allow-origin"] == "*"


def test_the_rest_of_the_gateway_stays_same_origin(client: TestClient) -> None:
    login = preflight(client, "/agent/api/login", SHOP, "POST", "content-type")
    assert "access-control-allow-origin" not in login.headers
    for path in ("/health", "/agent/api/me", "/"):
        assert "access-control-allow-origin" not in client.get(path, headers={"Origin": SHOP}).headers


def test_a_configured_list_allows_its_origins(shop_only: TestClient) -> None:
    response = preflight(shop_only, "/api/chat", SHOP, "POST", "content-type")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SHOP
    chat = shop_only.post("/api/chat", json={"sender": "w-2", "text": "hallo"}, headers={"Origin": SHOP})
    assert chat.headers["access-control-allow-origin"] == SHOP
    assert "origin" in chat.headers["vary"].lower()


def test_a_configured_list_refuses_other_origins(shop_only: TestClient) -> None:
    refused = preflight(shop_only, "/api/chat", OTHER, "POST", "content-type")
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    for path in ("/api/widget/config", "/api/chat/history?sender=w-3"):
        response = shop_only.get(path, headers={"Origin": OTHER})
        assert "access-control-allow-origin" not in response.headers  # the browser hides the answer


def test_widget_js_gets_the_pushed_events_names_from_the_gateway(client: TestClient) -> None:
    """The names are defined once (bot/core/events.py): the gateway writes them into widget.js,
    and the ones the file carries for being served as it is must be the same."""
    served = client.get("/widget.js").text
    assert f"const EVENTS = {events.page_json()};" in served and "/*EVENTS*/" not in served
    raw = EVENTS_SLOT.search(SCRIPT.read_bytes())
    assert raw is not None and json.loads(raw.group(1)) == events.PAGE_EVENTS


def test_events_js_defines_the_names_for_the_gateways_pages(client: TestClient) -> None:
    for path in ("/events.js", "/agent/events.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        assert response.text == f"window.EVENTS = {json.dumps(events.PAGE_EVENTS)};\n"
    console = client.get("/agent/").text  # its scripts (static/js/) use the names
    assert console.index('src="/agent/events.js"') < console.index('src="/agent/js/console-app.js"')
    assert "EVENTS.MESSAGE" in client.get("/agent/js/console-app.js").text


def test_the_chat_page_is_the_widget_in_page_mode_with_no_chat_logic_of_its_own(client: TestClient) -> None:
    """One copy of the chat: the gateway's page (/) loads widget.js in page mode; its only other
    script is the persona as JSON data, which never runs."""
    page = client.get("/").text
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.DOTALL)
    assert [attributes.split() for attributes, _body in scripts] == [
        ['type="application/json"', 'id="cc-chat-config"'],
        ['src="/widget.js"', 'data-mode="page"', "defer"],
    ]
    assert json.loads(scripts[0][1])["botName"] == "Mila" and scripts[1][1] == ""
    assert "EventSource" not in page and "fetch(" not in page and "onclick" not in page


def test_every_widget_text_exists_in_every_language_with_the_same_placeholders() -> None:
    """widget.js carries its own few labels (launcher, input, status, typing): each in nl, fr and en."""
    script = SCRIPT.read_text(encoding="utf-8")
    block = re.search(r"const UI = \{\n(.*?)\n  \};", script, re.DOTALL)
    assert block is not None, "widget.js has no UI texts block"
    languages = dict(
        re.findall(r"^    (\w\w): \{\n(.*?)\n    \},$", block.group(1), re.DOTALL | re.MULTILINE)
    )
    assert sorted(languages) == sorted(SUPPORTED_LANGUAGES)
    texts = {lang: dict(re.findall(r'(\w+): "([^"]*)"', body)) for lang, body in languages.items()}
    keys = set(texts["en"])
    assert len(keys) >= 10
    for lang, found in texts.items():
        assert set(found) == keys, lang
        assert all(value.strip() for value in found.values()), lang
    for key in keys:
        placeholders = {frozenset(re.findall(r"\{(\w+)\}", texts[lang][key])) for lang in texts}
        assert len(placeholders) == 1, key
