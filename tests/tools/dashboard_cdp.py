"""dashboard_cdp: drive headless Chromium over the DevTools protocol, standard library
only (used by tests/tools/dashboard_browser.py and dashboard_shots.py).

The browser is started with --remote-debugging-pipe: commands go to its fd 3 and
replies come from its fd 4, as JSON messages ended by a NUL byte (no WebSocket, no
port). Browser(...).open(url) attaches to a fresh page; then eval(js) runs an
expression in it (promises awaited), wait(js) polls one until it is truthy,
set_files(selector, paths) fills a file input, shot(path, selector) writes a PNG of the
page or of one element.
"""
import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, exe, width=1280, height=900, log=None):
        self.profile = tempfile.mkdtemp(prefix="dc_chromium.")
        to_r, to_w = os.pipe()      # our commands -> the browser's fd 3
        from_r, from_w = os.pipe()  # the browser's fd 4 -> us

        # the pipes are close-on-exec; their copies at 3 and 4 are not (close_fds=False:
        # Popen would close them after preexec_fn)
        def fds():
            r, w = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)
        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--user-data-dir=" + self.profile, "--window-size=%d,%d" % (width, height),
             "--no-first-run", "--no-default-browser-check", "--disable-extensions",
             "--hide-scrollbars", "--mute-audio", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=log or subprocess.DEVNULL,
            stderr=log or subprocess.DEVNULL, preexec_fn=fds, close_fds=False)
        os.close(to_r)
        os.close(from_w)
        self.wfd, self.rfd = to_w, from_r
        self.buf = b""
        self.next_id = 0
        self.session = None
        self.width, self.height = width, height

    def _send(self, method, params=None, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self.wfd, data)
            data = data[n:]
        return self.next_id

    def _read(self, timeout):
        end = time.time() + timeout
        while b"\0" not in self.buf:
            left = end - time.time()
            if left <= 0:
                raise CDPError("no reply from the browser in %.0f s" % timeout)
            r, _, _ = select.select([self.rfd], [], [], left)
            if r:
                chunk = os.read(self.rfd, 1 << 20)
                if not chunk:
                    raise CDPError("the browser closed its pipe (exit code %s)" % self.proc.poll())
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def cmd(self, method, params=None, session=True, timeout=30):
        """Sends a command and returns its result (events on the way are dropped)."""
        i = self._send(method, params, session)
        while True:
            m = self._read(timeout)
            if m.get("id") == i:
                if "error" in m:
                    raise CDPError("%s: %s" % (method, m["error"].get("message")))
                return m.get("result", {})

    def open(self, url):
        t = self.cmd("Target.createTarget", {"url": "about:blank"}, session=False)
        a = self.cmd("Target.attachToTarget", {"targetId": t["targetId"], "flatten": True}, session=False)
        self.session = a["sessionId"]
        self.cmd("Page.enable")
        self.cmd("Runtime.enable")
        self.cmd("Emulation.setDeviceMetricsOverride",
                 {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        self.goto(url)

    def goto(self, url):
        self.cmd("Page.navigate", {"url": url})
        self.wait("document.readyState === 'complete'", 20)

    def eval(self, expr, timeout=30):
        """The value of a JS expression (a promise is awaited); raises on an exception."""
        r = self.cmd("Runtime.evaluate", {"expression": expr, "awaitPromise": True,
                                          "returnByValue": True}, timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise CDPError("JS error in %r: %s" % (expr[:80], (d.get("exception") or {}).get("description") or d.get("text")))
        return r.get("result", {}).get("value")

    def wait(self, expr, timeout=20, every=0.1):
        """Polls expr until it is truthy; returns its value, or None after timeout s."""
        end = time.time() + timeout
        while True:  # an element counts as true (returned by value it would be {})
            v = self.eval("(v => v instanceof Node ? true : v)(%s)" % expr)
            if v:
                return v
            if time.time() > end:
                return None
            time.sleep(every)

    def set_files(self, selector, paths):
        doc = self.cmd("DOM.getDocument", {"depth": 0})
        node = self.cmd("DOM.querySelector", {"nodeId": doc["root"]["nodeId"], "selector": selector})
        if not node.get("nodeId"):
            raise CDPError("no element " + selector)
        self.cmd("DOM.setFileInputFiles", {"nodeId": node["nodeId"], "files": [os.path.abspath(p) for p in paths]})

    def shot(self, path, selector=None, pad=6):
        """A PNG of the viewport, or of the element selector (scrolled into view)."""
        params = {"format": "png", "captureBeyondViewport": True}
        if selector:
            r = self.eval("(() => { const e = document.querySelector(%s); if (!e) return null;"
                          " const b = e.getBoundingClientRect();"
                          " return [b.left + scrollX, b.top + scrollY, b.width, b.height]; })()" % json.dumps(selector))
            if not r:
                raise CDPError("no element " + selector)
            x, y, w, h = r
            params["clip"] = {"x": max(0, x - pad), "y": max(0, y - pad), "width": w + 2 * pad,
                              "height": h + 2 * pad, "scale": 1}
        data = self.cmd("Page.captureScreenshot", params)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.cmd("Browser.close", session=False, timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.wfd)
        os.close(self.rfd)
        shutil.rmtree(self.profile, ignore_errors=True)
