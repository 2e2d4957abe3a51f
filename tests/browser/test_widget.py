"""The chat widget end to end: the real demo server, headless Chromium, selenium.

The server is `python -m app.cli demo` in a subprocess on a free port with its own data
directory. To point the tests at a server that is already running instead, set
TAILOR_BROWSER_BASE_URL (e.g. http://127.0.0.1:8000) and TAILOR_BROWSER_KEYS (the path of
its demo_keys.json).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TAILOR_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TAILOR_CHROMEDRIVER", "/usr/bin/chromedriver")
STARTUP_TIMEOUT = 180  # cold start on a busy 2-core machine loads the embedder and the LLM
TURN_TIMEOUT = 180  # one chat turn with the embedded LLM on a loaded CPU
MESSAGE = "I need a warm sweater"
SCREENSHOTS = Path(os.environ.get("TAILOR_SCREENSHOTS", tempfile.gettempdir()))


@dataclass
class Server:
    base: str
    keys: dict[str, str]

    def get(self, path: str, role: str = "developer") -> Any:
        req = urllib.request.Request(self.base + path,
                                     headers={"Authorization": f"Bearer {self.keys[role]}"})
        with urllib.request.urlopen(req, timeout=30) as res:
            return json.loads(res.read())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str) -> tuple[int, dict[str, Any]]:
    """(status, body) of /readyz; (0, {}) while the server is not listening yet."""
    try:
        with urllib.request.urlopen(url, timeout=5) as res:
            return int(res.status), json.loads(res.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read())
        except ValueError:
            return exc.code, {}
    except (urllib.error.URLError, OSError, ValueError):
        return 0, {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    for exe in (CHROMIUM, CHROMEDRIVER):
        if not Path(exe).exists():
            pytest.skip(f"{exe} is missing (apt-get install chromium chromium-driver)")
    if os.environ.get("TAILOR_BROWSER_BASE_URL"):
        keys = json.loads(Path(os.environ["TAILOR_BROWSER_KEYS"]).read_text())
        yield Server(os.environ["TAILOR_BROWSER_BASE_URL"].rstrip("/"), keys)
        return

    data = tmp_path_factory.mktemp("tailor-data")
    port = _free_port()
    env = {**os.environ, "TAILOR_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "demo", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def log_tail() -> str:
        lines = (data / "server.log").read_text(errors="replace").splitlines()
        return "\n".join(line for line in lines if "/readyz" not in line)[-4000:]

    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            status, body = _ready(base + "/readyz")
            if status == 200:
                break
            if proc.poll() is not None:
                pytest.fail("the demo server exited:\n" + log_tail())
            broken = {k: v for k, v in body.get("checks", {}).items()
                      if str(v).startswith("error")}
            if broken:  # a component failed to load: waiting longer will not help
                pytest.fail(f"the demo server is not ready: {broken}\n{log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the demo server was not ready within {STARTUP_TIMEOUT} s "
                            f"({body}):\n{log_tail()}")
            time.sleep(1)
        with urllib.request.urlopen(base + "/openapi.json", timeout=30) as res:
            paths = json.loads(res.read())["paths"]
        if "/v1/chat" not in paths:
            pytest.skip("the app has no POST /v1/chat yet")
        keys = json.loads((data / "demo_keys.json").read_text())
        yield Server(base, keys)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _chrome(width: int, height: int, mobile: bool = False) -> Any:
    profile = tempfile.mkdtemp(prefix="tailor-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                 f"--window-size={width},{height}"):
        opts.add_argument(flag)
    if mobile:
        opts.add_experimental_option("mobileEmulation", {
            "deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}})
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_script_timeout(60)
    driver._tailor_profile = profile  # type: ignore[attr-defined]
    return driver


def _quit(driver: Any) -> None:
    try:
        driver.quit()
    finally:
        shutil.rmtree(driver._tailor_profile, ignore_errors=True)


@pytest.fixture
def desktop() -> Iterator[Any]:
    driver = _chrome(1280, 900)
    yield driver
    _quit(driver)


@pytest.fixture
def phone() -> Iterator[Any]:
    driver = _chrome(375, 740, mobile=True)
    yield driver
    _quit(driver)


# ---------------------------------------------------------------- page helpers

def wait(driver: Any, condition: Any, timeout: float = 60, message: str = "") -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.25).until(condition, message)


def open_store(driver: Any, server: Server) -> Any:
    """Load `/` and return the widget's shadow root once the bubble is there."""
    driver.get(server.base + "/")
    wait(driver, lambda d: d.execute_script(
        "var h = document.getElementById('tailor-widget');"
        "return !!(h && h.shadowRoot && h.shadowRoot.querySelector('.bubble'));"),
        message="the widget did not render its bubble")
    return driver.find_element(By.ID, "tailor-widget").shadow_root


def js(driver: Any, body: str, *args: Any) -> Any:
    """Run `body` with `root` bound to the widget's shadow root."""
    return driver.execute_script(
        "var root = document.getElementById('tailor-widget').shadowRoot;" + body, *args)


def active_in_widget(driver: Any) -> str:
    """A short description of the focused element inside the widget."""
    return js(driver, "var a = root.activeElement; if (!a) return '';"
                      "return a.id || a.className || a.tagName;")


def wait_for_turn(driver: Any, index: int) -> dict[str, Any]:
    """Wait until assistant turn `index` (0-based) has finished; return what it shows."""
    wait(driver, lambda d: js(d, "var t = root.querySelectorAll('.turn')[arguments[0]];"
                                 "return !!t && t.getAttribute('data-state') !== 'streaming';",
                              index),
         timeout=TURN_TIMEOUT, message=f"assistant turn {index} did not finish")
    return js(driver, """
        var t = root.querySelectorAll('.turn')[arguments[0]];
        var bot = t.querySelector('.msg.bot');
        return {
          state: t.getAttribute('data-state'),
          tokens: Number(t.getAttribute('data-tokens') || 0),
          text: bot ? bot.textContent : '',
          typing: !!t.querySelector('.typing'),
          error: (t.querySelector('.err') || {}).textContent || '',
          cards: Array.prototype.map.call(t.querySelectorAll('.card'),
                                          function (c) { return c.getAttribute('data-item-id'); }),
        };""", index)


def export_events(server: Server, visitor_id: str) -> list[dict[str, Any]]:
    return list(server.get(f"/v1/customers/{visitor_id}/export")["events"])


def wait_for_event(server: Server, visitor_id: str, kind: str, item_id: str,
                   timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    seen: list[tuple[str, str]] = []
    while time.monotonic() < deadline:
        try:
            seen = [(e["type"], e["item_id"]) for e in export_events(server, visitor_id)]
        except urllib.error.HTTPError as exc:
            if exc.code != 404:  # 404: the visitor has no events yet
                raise
        if (kind, item_id) in seen:
            return
        time.sleep(0.5)
    raise AssertionError(f"no {kind} event for {item_id}; the export has {seen}")


def shot(driver: Any, name: str) -> None:
    # A screenshot is for looking at, never a reason to fail.
    with contextlib.suppress(WebDriverException, OSError):
        driver.save_screenshot(str(SCREENSHOTS / f"tailor-widget-{name}.png"))


# ---------------------------------------------------------------- tests

def test_chat_cards_and_not_for_me_changes_the_next_answer(server: Server, desktop: Any) -> None:
    d = desktop
    root = open_store(d, server)
    bubble = root.find_element(By.CSS_SELECTOR, "button.bubble")
    assert bubble.get_attribute("aria-label") == "Open shopping assistant"

    # Keyboard only: focus the bubble and press Enter.
    d.execute_script("arguments[0].focus()", bubble)
    bubble.send_keys(Keys.ENTER)
    wait(d, lambda _: js(d, "return !root.querySelector('.panel').hidden"),
         message="Enter on the bubble did not open the panel")
    assert active_in_widget(d) == "tailor-input"
    assert "what are you looking for" in js(d, "return root.querySelector('.log').textContent")
    visitor_id = wait(d, lambda _: d.execute_script("return window.Tailor.visitorId()"),
                      message="no visitor session")
    assert visitor_id.startswith("v-")

    box = root.find_element(By.CSS_SELECTOR, "#tailor-input")
    box.send_keys(MESSAGE + Keys.ENTER)
    # The typing indicator shows while the first token is awaited (or the turn is done).
    wait(d, lambda _: js(d, "var t = root.querySelector('.turn');"
                            "return !!t && (!!t.querySelector('.typing') ||"
                            " t.getAttribute('data-state') !== 'streaming');"))
    first = wait_for_turn(d, 0)
    shot(d, "desktop-answer")
    assert first["state"] == "done", first
    assert first["text"].strip(), first
    assert first["tokens"] >= 1, "the reply did not arrive as token events"
    assert not first["typing"], "the typing indicator stayed after the reply"
    assert first["cards"], f"no product cards: {first}"
    assert js(d, "return root.querySelector('.msg.user').textContent") == MESSAGE
    assert box.get_attribute("value") == ""

    # Each card shows an image, a price and its reason, and has labelled buttons.
    card = js(d, """
        var c = root.querySelector('.card');
        return {img: (c.querySelector('img') || {}).src || '',
                price: (c.querySelector('.price') || {}).textContent || '',
                why: (c.querySelector('.why') || {}).textContent || '',
                labels: Array.prototype.map.call(c.querySelectorAll('button'),
                        function (b) { return b.getAttribute('aria-label'); })};""")
    assert card["img"].startswith(server.base), card
    assert any(ch.isdigit() for ch in card["price"]), card
    assert card["why"].startswith("Why this:"), card
    assert any(label.startswith("Not for me: ") for label in card["labels"]), card
    assert any(label.startswith("Add to cart: ") or label.startswith("Sold out: ")
               for label in card["labels"]), card

    # Every card shown was recorded as an impression.
    for item_id in first["cards"]:
        wait_for_event(server, visitor_id, "impression", item_id)

    # "Not for me" on the first card: it goes away, and the return channel hears of it.
    gone = first["cards"][0]
    nope = root.find_element(By.CSS_SELECTOR, f'.card[data-item-id="{gone}"] button.nope')
    assert nope.get_attribute("aria-label").startswith("Not for me: ")
    nope.click()
    wait(d, lambda _: js(d, "return !root.querySelector('.card[data-item-id=\"' + arguments[0]"
                            " + '\"]')", gone),
         message="the dismissed card is still there")
    assert "show fewer like this" in js(d, "return root.querySelector('.log').textContent")
    wait_for_event(server, visitor_id, "dismiss", gone)

    # The same question again: the answer changes, and the dismissed item stays away.
    box.send_keys(MESSAGE + Keys.ENTER)
    second = wait_for_turn(d, 1)
    shot(d, "desktop-second-answer")
    assert second["state"] == "done", second
    assert second["cards"], f"no product cards the second time: {second}"
    assert gone not in second["cards"], second
    assert set(second["cards"]) != set(first["cards"]), (first, second)


def test_phone_viewport_panel_is_full_screen(server: Server, phone: Any) -> None:
    d = phone
    root = open_store(d, server)
    vw, vh = d.execute_script("return [window.innerWidth, window.innerHeight]")
    assert vw <= 480
    bubble = js(d, "var r = root.querySelector('.bubble').getBoundingClientRect();"
                   "return [r.left, r.top, r.right, r.bottom]")
    assert bubble[0] >= 0 and bubble[2] <= vw and bubble[3] <= vh, bubble
    shot(d, "phone-closed")

    root.find_element(By.CSS_SELECTOR, "button.bubble").click()
    wait(d, lambda _: js(d, "return !root.querySelector('.panel').hidden"))
    rect = js(d, "var r = root.querySelector('.panel').getBoundingClientRect();"
                 "return {left: r.left, top: r.top, width: r.width, height: r.height}")
    assert rect["left"] == 0 and rect["top"] == 0, rect
    assert abs(rect["width"] - vw) <= 1, (rect, vw)
    assert abs(rect["height"] - vh) <= 1, (rect, vh)
    # The input, the send and the close buttons are all on screen and usable.
    for sel in ("#tailor-input", "button.send", "button.x"):
        r = js(d, "var r = root.querySelector(arguments[0]).getBoundingClientRect();"
                  "return [r.left, r.top, r.right, r.bottom, r.width, r.height]", sel)
        assert r[0] >= 0 and r[1] >= 0 and r[2] <= vw + 0.5 and r[3] <= vh + 0.5, (sel, r)
        assert r[4] >= 24 and r[5] >= 24, (sel, r)  # large enough to tap

    root.find_element(By.CSS_SELECTOR, "#tailor-input").send_keys(MESSAGE + Keys.ENTER)
    turn = wait_for_turn(d, 0)
    shot(d, "phone-answer")
    assert turn["state"] == "done" and turn["cards"], turn
    # Cards scroll sideways inside the panel; the page itself does not overflow.
    assert d.execute_script("return document.documentElement.scrollWidth") <= vw + 1
    root.find_element(By.CSS_SELECTOR, "button.x").click()
    wait(d, lambda _: js(d, "return root.querySelector('.panel').hidden"))


def test_a_retracted_clause_disappears_from_the_reply(server: Server, desktop: Any) -> None:
    """The server may take back words whose clause failed the grounding check (`retract`).
    A scripted event stream stands in for the server's chat answer (the real one only
    retracts when the model strays); the widget itself runs for real."""
    d = desktop
    root = open_store(d, server)
    d.execute_script("""
        var real = window.fetch;
        window.fetch = function (url, opts) {
          if (String(url).indexOf('/v1/chat') < 0) return real.apply(this, arguments);
          var events = [
            ['session', {session_id: 's-scripted'}],
            ['token', {text: 'Lovely'}], ['token', {text: ', what \\ud83d\\ude00'}],
            // 8 code points, 9 UTF-16 units: the widget must use the text's own length
            ['retract', {chars: 8, text: ', what \\ud83d\\ude00'}],
            ['token', {text: '. Here are a few picks.'}],
            ['done', {message_id: 1, degraded: true, personalized: false,
                      text: 'Lovely. Here are a few picks.'}]];
          var body = events.map(function (e) {
            return 'event: ' + e[0] + '\\ndata: ' + JSON.stringify(e[1]) + '\\n\\n';
          }).join('');
          return Promise.resolve(new Response(body, {
            status: 200, headers: {'Content-Type': 'text/event-stream'}}));
        };""")
    root.find_element(By.CSS_SELECTOR, "button.bubble").click()
    box = root.find_element(By.CSS_SELECTOR, "#tailor-input")
    box.send_keys("a warm sweater" + Keys.ENTER)
    turn = wait_for_turn(d, 0)
    assert turn["state"] == "done", turn
    assert turn["text"].strip() == "Lovely. Here are a few picks.", turn


def test_accessibility_roles_labels_and_escape(server: Server, desktop: Any) -> None:
    d = desktop
    root = open_store(d, server)
    bubble = root.find_element(By.CSS_SELECTOR, "button.bubble")
    assert bubble.get_attribute("aria-expanded") == "false"
    assert bubble.get_attribute("aria-haspopup") == "dialog"
    d.execute_script("arguments[0].focus()", bubble)
    bubble.send_keys(Keys.ENTER)
    wait(d, lambda _: js(d, "return !root.querySelector('.panel').hidden"))
    shot(d, "desktop-open")

    facts = js(d, """
        var p = root.querySelector('.panel');
        var title = root.getElementById(p.getAttribute('aria-labelledby'));
        var log = root.querySelector('.log');
        var input = root.getElementById('tailor-input');
        var label = root.querySelector('label[for="tailor-input"]');
        var unnamed = Array.prototype.filter.call(root.querySelectorAll('button'), function (b) {
          return !(b.getAttribute('aria-label') || b.textContent.trim());
        }).length;
        return {role: p.getAttribute('role'), modal: p.getAttribute('aria-modal'),
                title: title ? title.textContent : null,
                logRole: log.getAttribute('role'), live: log.getAttribute('aria-live'),
                label: label ? label.textContent : null, inputTag: input.tagName,
                send: root.querySelector('.send').getAttribute('aria-label'),
                close: root.querySelector('.x').getAttribute('aria-label'),
                expanded: root.querySelector('.bubble').getAttribute('aria-expanded'),
                unnamedButtons: unnamed};""")
    assert facts == {
        "role": "dialog", "modal": "false", "title": "Shopping assistant",
        "logRole": "log", "live": "polite", "label": "Message the shopping assistant",
        "inputTag": "INPUT", "send": "Send message", "close": "Close shopping assistant",
        "expanded": "true", "unnamedButtons": 0}, facts

    # Focus starts in the input; Tab goes to Send; Shift+Tab back.
    assert active_in_widget(d) == "tailor-input"
    d.switch_to.active_element.send_keys(Keys.TAB)
    assert "send" in active_in_widget(d)
    d.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
    assert active_in_widget(d) == "tailor-input"

    # Escape closes the panel and gives focus back to the bubble.
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait(d, lambda _: js(d, "return root.querySelector('.panel').hidden"),
         message="Escape did not close the panel")
    assert "bubble" in active_in_widget(d)
    assert d.execute_script("return document.activeElement.id") == "tailor-widget"
    assert bubble.get_attribute("aria-expanded") == "false"

    # The host page's hook stays callable, and the widget's API is there.
    api = d.execute_script("return ['track','open','close','send'].map("
                           "function (k) { return typeof window.Tailor[k]; })")
    assert api == ["function"] * 4
    d.execute_script("window.Tailor.open()")
    wait(d, lambda _: js(d, "return !root.querySelector('.panel').hidden"))
    assert active_in_widget(d) == "tailor-input"
