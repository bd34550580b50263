#!/usr/bin/env python3
"""The browser demo page ({base}/demo) in two headless Chromium sessions.

    demo_test.py MIMREST_SERVER SCREENSHOT.png

Starts mimrest-server with the demo page, Bearer tokens (short-lived access
tokens, so that the page refreshes them during the test), resumable event
streams and memory storage; logs alice and bob in through the page; checks
one-to-one and room messages arriving live, a token refresh, and that bob's
page, after a dropped connection, gets what it missed exactly once and in
order. Saves a screenshot of bob's page.

Exit code: 0 pass, 1 fail, 77 skip (no Chromium, chromedriver or selenium).
"""
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

# Where the browser is required (CI sets MIMREST_REQUIRE_BROWSER=1), a missing
# one fails the test instead of skipping it.
SKIP = 1 if os.environ.get("MIMREST_REQUIRE_BROWSER") == "1" else 77
SYSTEM_PYTHON = "/usr/bin/python3"

try:
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    # Debian's python3-selenium belongs to the system interpreter, which may
    # not be the first python3 on PATH.
    if (os.path.exists(SYSTEM_PYTHON) and not os.environ.get("MIMREST_DEMO_TEST_REEXEC")
            and os.path.realpath(sys.executable) != os.path.realpath(SYSTEM_PYTHON)):
        os.environ["MIMREST_DEMO_TEST_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON] + sys.argv)
    print("SKIP: selenium is not installed (Debian package python3-selenium)")
    sys.exit(SKIP)

WAIT_S = 15          # longest wait for any one step
ACCESS_TTL_S = 6     # the page refreshes at two thirds of it
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--window-size=1000,850",
]


class Failure(Exception):
    pass


def find_program(env, default, name):
    path = os.environ.get(env) or (default if os.path.exists(default) else shutil.which(name))
    return path if path and os.access(path, os.X_OK) else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """mimrest-server on a free port, its stderr kept in a file."""

    def __init__(self, program, folder):
        self.program = program
        self.folder = folder
        self.process = None
        self.stderr_path = os.path.join(folder, "server.stderr")
        self.stderr = open(self.stderr_path, "w")

    def start(self):
        config_path = os.path.join(self.folder, "server.json")
        # Another program may take the port between our probe and the
        # server's bind: try a few.
        for attempt in range(3):
            with open(config_path, "w") as f:
                json.dump(self.config(free_port()), f)
            self.process = subprocess.Popen([self.program, "--config", config_path],
                                            stdout=subprocess.PIPE, stderr=self.stderr, text=True)
            line = self.first_line()
            if line.startswith("listening on "):
                self.url = line[len("listening on "):].strip().rstrip("/")
                self.api = self.url + "/api"
                return
            if self.process.poll() is None:
                raise Failure(f"unexpected first line from the server: {line!r}")
        raise Failure("the server did not start")

    @staticmethod
    def config(port):
        return {
            "listen": f"http://127.0.0.1:{port}",
            "base_path": "/api",
            "demo": True,
            "tokens": {"enabled": True, "access_ttl_s": ACCESS_TTL_S, "refresh_ttl_s": 600},
            "sse": {"resume": True},
            "storage": {"type": "memory"},
            "domains": ["localhost"],
            "users": [{"jid": "alice@localhost", "password": "secret"},
                      {"jid": "bob@localhost", "password": "secret"}],
        }

    def first_line(self):
        lines = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.process.stdout.readline()),
                         daemon=True).start()
        try:
            line = lines.get(timeout=WAIT_S)
        except queue.Empty:
            raise Failure("the server did not say where it listens")
        if not line:
            self.process.wait(timeout=WAIT_S)
        return line

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stderr.close()

    def stderr_text(self):
        with open(self.stderr_path, errors="replace") as f:
            return f.read()


def start_browser(chromium, chromedriver, folder):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument("--user-data-dir=" + tempfile.mkdtemp(prefix="profile-", dir=folder))
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    # The page itself 1000x700, whatever the window around it.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1000, "height": 700, "deviceScaleFactor": 1, "mobile": False})
    return driver


class Page:
    """One user's demo page."""

    def __init__(self, name, driver, url):
        self.name = name
        self.driver = driver
        driver.get(url)

    def wait(self, what, condition, timeout=WAIT_S):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(
                lambda d: condition())
        except TimeoutException:
            raise Failure(f"{self.name}: timed out waiting for {what}; status "
                          f"{self.status()!r}, error {self.text('error')!r}, "
                          f"messages {self.messages()}")

    def element(self, element_id):
        return self.driver.find_element(By.ID, element_id)

    def text(self, element_id):
        return self.element(element_id).text

    def fill(self, element_id, value):
        field = self.element(element_id)
        field.clear()
        field.send_keys(value)

    def click(self, element_id):
        self.element(element_id).click()

    def status(self):
        return self.element("status").get_attribute("data-state")

    def messages(self):
        return self.driver.execute_script(
            "return [...document.querySelectorAll('#messages li')].map(li => ({...li.dataset}));")

    def bodies(self, **match):
        return [m["body"] for m in self.messages()
                if all(m.get(k) == v for k, v in match.items())]

    def wait_for_message(self, body, **match):
        self.wait(f"message {body!r}", lambda: body in self.bodies(**match))

    def wait_status(self, state):
        self.wait(f"status {state!r}", lambda: self.status() == state)

    def log_in(self, jid):
        self.fill("jid", jid)
        self.fill("password", "secret")
        self.click("login")
        self.wait_status("live")

    def submit(self, field_id, button_id, value):
        """Types into a field, presses the button, waits for the request to succeed."""
        self.fill(field_id, value)
        self.click(button_id)
        self.wait(f"{button_id} to finish",
                  lambda: self.element(field_id).get_attribute("value") == "" or self.text("error"))
        if self.text("error"):
            raise Failure(f"{self.name}: {button_id} failed: {self.text('error')}")

    def send(self, to, body):
        self.fill("to", to)
        self.submit("body", "send", body)

    def room_ids(self):
        return self.driver.execute_script(
            "return [...document.querySelectorAll('#room-select option')].map(o => o.value);")

    def refreshes(self):
        return int(self.text("refreshes"))

    def console(self):
        try:
            return "\n".join(f"  {e['level']} {e['message']}" for e in self.driver.get_log("browser"))
        except WebDriverException as e:
            return f"  (no console log: {e.msg})"


def bearer_status(api, token, path):
    request = urllib.request.Request(api + path, headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def scenario(server, alice, bob, screenshot):
    def step(text):
        print(f"[{time.monotonic() - started:5.1f}s] {text}", flush=True)

    started = time.monotonic()
    alice.log_in("alice@localhost")
    bob.log_in("bob@localhost")
    first_token = bob.driver.execute_script("return tokens.access_token;")
    step("alice and bob are live")

    alice.send("bob@localhost", "Hello Bob")
    bob.wait_for_message("Hello Bob", kind="chat", source="live", **{"from": "alice@localhost"})
    step("one-to-one message arrived")

    alice.submit("room-name", "room-create", "Team")
    alice.wait("the new room", lambda: len(alice.room_ids()) == 1)
    room = alice.room_ids()[0]
    alice.submit("member", "room-add", "bob@localhost")
    bob.wait("the room in bob's list", lambda: room in bob.room_ids())
    alice.submit("room-body", "room-send", "Hello team")
    bob.submit("room-body", "room-send", "Hi Alice")
    for page in (alice, bob):
        page.wait_for_message("bob@localhost is now member", kind="affiliation", room=room)
        page.wait_for_message("Hello team", kind="room", room=room, **{"from": "alice@localhost"})
        page.wait_for_message("Hi Alice", kind="room", room=room, **{"from": "bob@localhost"})
    step(f"room {room}: messages arrived on both pages")

    for page in (alice, bob):
        page.wait("a token refresh", lambda: page.refreshes() >= 1, timeout=ACCESS_TTL_S + WAIT_S)
    alice.send("bob@localhost", "After the refresh")
    bob.wait_for_message("After the refresh", kind="chat")
    step("tokens refreshed; the stream still works")

    bob.click("disconnect")
    bob.wait_status("disconnected")
    missed = ["Missed one", "Missed two"]
    for body in missed:
        alice.send("bob@localhost", body)
    alice.submit("room-body", "room-send", "Missed in the room")
    if any(body in bob.bodies() for body in missed + ["Missed in the room"]):
        raise Failure("bob's page got messages while disconnected")
    # Once the access token the stream was opened with has expired, the page
    # must reconnect with its current one.
    bob.wait("bob's first access token to expire",
             lambda: bearer_status(server.api, first_token, "/rooms") == 401)
    bob.click("reconnect")
    bob.wait_status("live")
    bob.wait_for_message("Missed in the room", kind="room", room=room)
    for body in missed:
        bob.wait_for_message(body, kind="chat")
    bodies = bob.bodies()
    expected = missed + ["Missed in the room"]
    for body in expected:
        if bodies.count(body) != 1:
            raise Failure(f"bob: {body!r} shown {bodies.count(body)} times: {bodies}")
    if bodies[-3:] != expected:
        raise Failure(f"bob: the missed messages are not last and in order: {bodies}")
    duplicates = bob.element("messages").get_attribute("data-duplicates")
    if duplicates != "0":
        raise Failure(f"bob's stream delivered {duplicates} duplicate event(s)")
    alice.send("bob@localhost", "After the reconnect")
    bob.wait_for_message("After the reconnect", kind="chat", source="live")
    step("bob resumed: missed messages once each, in order; live again")

    os.makedirs(os.path.dirname(os.path.abspath(screenshot)), exist_ok=True)
    if not bob.driver.save_screenshot(screenshot):
        raise Failure("could not save the screenshot")
    step(f"screenshot: {screenshot}")

    token = alice.driver.execute_script("return tokens.access_token;")
    if bearer_status(server.api, token, "/rooms") != 200:
        raise Failure("alice's access token does not work from outside the page")
    alice.click("logout")
    alice.wait_status("signed-out")
    alice.wait("the login form", lambda: alice.element("login-form").is_displayed())
    if bearer_status(server.api, token, "/rooms") != 401:
        raise Failure("alice's token still works after logging out")
    step("alice logged out; her token is revoked")


def main():
    if len(sys.argv) != 3:
        print(f"usage: {sys.argv[0]} MIMREST_SERVER SCREENSHOT.png", file=sys.stderr)
        return 2
    program, screenshot = sys.argv[1], sys.argv[2]
    chromium = find_program("CHROMIUM", "/usr/bin/chromium", "chromium")
    chromedriver = find_program("CHROMEDRIVER", "/usr/bin/chromedriver", "chromedriver")
    if not chromium or not chromedriver:
        print("SKIP: chromium and chromedriver are needed (Debian packages chromium, "
              "chromium-driver)")
        return SKIP

    started = time.monotonic()
    folder = tempfile.mkdtemp(prefix="mimrest-demo-test-")
    server = None
    pages = []
    drivers = []
    try:
        server = Server(program, folder)
        server.start()
        # Both browsers start at once: it is the slowest part.
        results = [None, None]

        def launch(i):
            try:
                results[i] = start_browser(chromium, chromedriver, folder)
            except Exception as e:  # reported below
                results[i] = e

        threads = [threading.Thread(target=launch, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        drivers = [r for r in results if isinstance(r, webdriver.Chrome)]
        for r in results:
            if not isinstance(r, webdriver.Chrome):
                raise Failure(f"could not start Chromium: {r}")
        demo_url = server.api + "/demo"
        pages = [Page("alice", drivers[0], demo_url), Page("bob", drivers[1], demo_url)]
        scenario(server, pages[0], pages[1], screenshot)
        print(f"PASS in {time.monotonic() - started:.1f}s")
        return 0
    except Exception as e:  # every failure: report what the server and pages said
        detail = e.msg if isinstance(e, WebDriverException) else e
        print(f"FAIL: {type(e).__name__}: {detail}", file=sys.stderr)
        for page in pages:
            print(f"--- {page.name}'s console log:\n{page.console()}", file=sys.stderr)
        if server:
            server.stop()
            print(f"--- server stderr:\n{server.stderr_text()}", file=sys.stderr)
        return 1
    finally:
        for driver in drivers:
            try:
                driver.quit()
            except WebDriverException:
                pass
        if server:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
