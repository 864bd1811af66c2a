"""The chat demo in a real browser: headless Chromium driven by Playwright.

Two browser contexts (two users, two cookie jars) sign in, meet in a room, see each other in
the presence list, exchange messages both ways, and one of them posts ``<script>``, which
must show as text. It runs once over WebSockets and once over long polling
(``?transport=poll``). Screenshots go to tests/artifacts/.

The server runs in the test's Trio loop; Playwright's sync API (asyncio inside) runs in a
worker thread. Needs Debian's ``chromium`` at /usr/bin/chromium and the ``playwright``
package; the nox ``tests`` session installs both.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
import trio

from examples.chat import Chat, MemoryStore, make_app
from trinado.testing import open_test_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
TIMEOUT_MS = 15_000
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(
        f"chromium is not installed at {CHROMIUM} (apt-get install chromium; the nox tests "
        "session does it when run as root)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install .[test])"
)


def sign_in(browser: Any, base: str, name: str, room_path: str, width: int) -> Any:
    """A new context (cookie jar) signed in as ``name``, on ``room_path``; returns its page."""
    context = browser.new_context(viewport={"width": width, "height": 760})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{base}/login?next={urllib.parse.quote(room_path, safe='')}")
    page.fill("#name", name)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{room_path}")
    page.wait_for_selector("#app[data-state=live]")
    return page


def presence_of(page: Any) -> list[str]:
    return sorted(page.locator("#presence li").all_inner_texts())


def wait_presence(page: Any, names: list[str]) -> None:
    page.wait_for_function(
        "names => JSON.stringify([...document.querySelectorAll('#presence li')]"
        ".map(li => li.textContent).sort()) === JSON.stringify(names)",
        arg=sorted(names),
    )


def send(page: Any, text: str) -> None:
    page.fill("#body", text)
    page.press("#body", "Enter")


def wait_message(page: Any, text: str) -> None:
    page.wait_for_function(
        "text => [...document.querySelectorAll('#messages .body')]"
        ".some(el => el.textContent === text)",
        arg=text,
    )


def scenario(base: str, transport: str) -> dict[str, Any]:
    """Runs the two-user conversation; returns what the test checks."""
    query = "?transport=poll" if transport == "poll" else ""
    room_path = f"/room/browser-{transport}{query}"
    seen: dict[str, Any] = {}
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            alice = sign_in(browser, base, "alice", room_path, width=1100)
            bob = sign_in(browser, base, "bob", room_path, width=390)  # a phone
            seen["status"] = alice.inner_text("#status")
            wait_presence(alice, ["alice", "bob"])
            wait_presence(bob, ["alice", "bob"])

            send(alice, "hello from alice")
            wait_message(bob, "hello from alice")
            send(bob, "hi alice, see https://example.com")
            wait_message(alice, "hi alice, see https://example.com")
            seen["link"] = alice.get_attribute("#messages a", "href")

            evil = "<script>window.pwned = 1</script><b>bold?</b>"
            send(bob, evil)
            wait_message(alice, evil)
            seen["pwned"] = alice.evaluate("window.pwned")
            seen["bold"] = alice.locator("#messages b").count()

            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / ".gitignore").write_text("*\n")
            alice.screenshot(path=str(ARTIFACTS / f"chat-{transport}-alice.png"))
            bob.screenshot(path=str(ARTIFACTS / f"chat-{transport}-bob-phone.png"))
            seen["bob_width"] = bob.evaluate("document.documentElement.scrollWidth")

            bob.context.close()  # bob closes the tab: alice sees him go
            wait_presence(alice, ["alice"])
            seen["presence_after"] = presence_of(alice)
            alice.screenshot(path=str(ARTIFACTS / f"chat-{transport}-alice-alone.png"))
        finally:
            browser.close()
    return seen


@pytest.mark.parametrize("transport", ["ws", "poll"])
async def test_two_users_chat_in_chromium(transport: str) -> None:
    chat = Chat()
    app = make_app(chat, cookie_secret="browser test")
    async with open_test_server(app) as server:
        base = f"http://127.0.0.1:{server.port}"
        with trio.fail_after(120):
            seen = await trio.to_thread.run_sync(scenario, base, transport)
        room = f"browser-{transport}"
        with trio.fail_after(10):
            store = chat.store
            while store.waiter_count(room) or chat.sockets.get(room):  # type: ignore[attr-defined]  # noqa: ASYNC110
                await trio.sleep(0.01)
    assert seen["status"] == ("live (WebSocket)" if transport == "ws" else "live (long polling)")
    assert seen["link"] == "https://example.com"
    assert seen["pwned"] is None
    assert seen["bold"] == 0
    assert seen["bob_width"] <= 390  # nothing wider than the phone's screen
    assert seen["presence_after"] == ["alice"]
    bodies = [m["body"] for m in await chat.store.messages_since(room, 0)]
    assert bodies == [
        "hello from alice",
        "hi alice, see https://example.com",
        "<script>window.pwned = 1</script><b>bold?</b>",
    ]


def restart_scenario(base: str, transport: str, restart: Any) -> list[str]:
    """A page from before a "restart" whose cursor is below the new numbering.

    Returns the message bodies the page shows afterwards.
    """
    query = "?transport=poll" if transport == "poll" else ""
    room_path = f"/room/restart-{transport}{query}"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = sign_in(browser, base, "alice", room_path, width=1100)
            wait_message(page, "old 2")
            trio.from_thread.run(restart)
            wait_message(page, "new 4")
            page.wait_for_function("document.querySelectorAll('#messages li').length === 5")
            bodies: list[str] = page.locator("#messages .body").all_inner_texts()
        finally:
            browser.close()
    return bodies


@pytest.mark.parametrize("transport", ["ws", "poll"])
async def test_a_restarted_server_replaces_what_the_page_shows(transport: str) -> None:
    # The page has messages 1 to 3; the "restarted" server (a new MemoryStore, a new epoch)
    # has 1 to 5, other messages. The page must show the new five, not old 1-3 + new 4-5.
    room = f"restart-{transport}"
    chat = Chat(poll_timeout=30)
    old = chat.store
    for i in range(3):
        await old.add_message(room, chat.make_message("ada", f"old {i}"))
    app = make_app(chat, cookie_secret="browser test")

    async def restart() -> None:
        new = MemoryStore()
        for i in range(5):
            await new.add_message(room, chat.make_message("ada", f"new {i}"))
        chat.store = new
        for socket in list(chat.sockets.get(room, ())):
            socket.close(1012, "restarting")  # the page reconnects, to the new store
        # A long poll waiting in the old store answers now; the next one reaches the new.
        await old.add_message(room, chat.make_message("ada", "old 3"))

    async with open_test_server(app) as server:
        base = f"http://127.0.0.1:{server.port}"
        with trio.fail_after(120):
            bodies = await trio.to_thread.run_sync(restart_scenario, base, transport, restart)
    assert bodies == [f"new {i}" for i in range(5)]
