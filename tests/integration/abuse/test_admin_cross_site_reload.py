"""A web page cannot reload kha (issue #14, item 7).

The admin endpoint has no authentication and trusts loopback, but a browser on the
node can reach loopback too: a cross-site form or no-cors fetch (`Content-Type:
text/plain`, `Origin: http://evil.example`) needs no CORS preflight, and DNS rebinding
makes a page on `evil.example` same-origin with 127.0.0.1 (`Host: evil.example:PORT`).
Both used to get `200 ok: reloaded /path/to/kha.yaml`. Now POSTs that carry an Origin,
a Sec-Fetch-Site other than none, a foreign Host or a form/text Content-Type are
refused (403/421/415) without reloading and without naming internal paths, while
`kha reload` (which sends none of those) still reloads.

Real `kha proxy --config` in front of real `kha standin`s (kube-apiserver is not
packaged); the hostile requests are plain HTTP from real sockets on loopback, shaped
as a browser sends them.
"""

import os
import subprocess
import unittest
from pathlib import Path

from support import web
from support.process import kha_bin, wait_until
from support.proxy import start_kha_proxy
from support.standin import start_standin

CONFIG = """
admin:
  listen: 127.0.0.1:@ADMIN_PORT@
frontends:
  - name: api
    listen: ["127.0.0.1:@LISTEN_PORT@"]
    health:
      kind: tcp
      interval: 100ms
      rise: 1
      fall: 3
    backends:
{backends}
"""


def config(*standins):
    return CONFIG.format(backends="\n".join(f"      - name: {s.name}\n        address: {s.address}" for s in standins))


class CrossSiteReload(unittest.TestCase):
    def setUp(self):
        self.a = start_standin("a", plain=True, owner=self)
        self.b = start_standin("b", plain=True, owner=self)
        self.proxy = start_kha_proxy(config_text=config(self.a), owner=self)
        wait_until(lambda: self.backend_names() == {"a"}, 10, "backend a configured")
        # The file on disk now names b as well: a reload, and only a reload, would take it.
        Path(self.proxy.config_path).write_text(
            config(self.a, self.b).replace("@LISTEN_PORT@", str(self.proxy.listen_port))
                                  .replace("@ADMIN_PORT@", str(self.proxy.admin_port)))

    def backend_names(self):
        return {b["name"] for fe in self.proxy.backends()["frontends"] for b in fe["backends"]}

    def post_reload(self, headers, body="x"):
        return web.request(f"http://127.0.0.1:{self.proxy.admin_port}/reload", method="POST",
                           headers=headers, body=body, timeout=5)

    def assert_no_paths(self, text):
        config_dir = os.path.dirname(self.proxy.config_path)
        self.assertNotIn(config_dir, text)
        self.assertNotIn("/tmp", text)

    def test_browser_requests_are_refused_and_kha_reload_still_works(self):
        port = self.proxy.admin_port
        own_host = f"127.0.0.1:{port}"
        evil = [
            ("cross-site simple POST", {"Origin": "http://evil.example", "Content-Type": "text/plain"}, 403, "origin"),
            ("fetch metadata", {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}, 403, "fetch_site"),
            ("DNS rebinding", {"Host": f"evil.example:{port}", "Content-Type": "application/json"}, 421, "host"),
            ("form without Origin", {"Content-Type": "application/x-www-form-urlencoded"}, 415, "content_type"),
            ("text without Origin", {"Content-Type": "text/plain;charset=UTF-8"}, 415, "content_type"),
        ]
        for name, headers, status, rule in evil:
            with self.subTest(name):
                r = self.post_reload(dict(headers, **({} if "Host" in headers else {"Host": own_host})))
                self.assertEqual(r.status, status, r.body)
                self.assertIn("refused", r.body)
                self.assert_no_paths(r.body)

        m = self.proxy.metrics_text()
        for rule, count in (("origin", 1), ("fetch_site", 1), ("host", 1), ("content_type", 2)):
            self.assertEqual(web.metric_value(m, "kha_admin_requests_refused_total", {"rule": rule}), count, rule)
        # Nothing was reloaded: no reload counted or logged, b not taken.
        self.assertFalse(web.metric_sum(m, "kha_daemon_reloads_total"))
        self.assertNotIn("reloaded", self.proxy.process.stderr())
        self.assertEqual(self.backend_names(), {"a"})

        # GET never changes state: a reload is POST only.
        self.assertEqual(self.proxy.admin("/reload").status, 405)

        # `kha reload` sends none of those headers and reloads; its answer names the file
        # without its directory.
        r = subprocess.run([kha_bin(), "reload", "--admin", f"127.0.0.1:{port}"],
                           capture_output=True, text=True, timeout=40)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("reloaded kha.yaml", r.stdout)
        self.assert_no_paths(r.stdout)
        wait_until(lambda: self.backend_names() == {"a", "b"}, 10, "b taken by the reload")
        self.assertEqual(self.proxy.metrics("kha_daemon_reloads_total", {"result": "ok"}), 1)


if __name__ == "__main__":
    unittest.main()
