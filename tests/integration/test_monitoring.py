"""deploy/monitoring/: the alert rules, their promtool unit tests, the PrometheusRule and
PodMonitor, the Grafana dashboard, checked against a real kha.

promtool (Debian's prometheus package) checks and unit-tests the rules, parses every
dashboard query (each written into a recording rule), and lints a real scrape of
`kha proxy` (in front of stand-in apiservers, through admin.metrics_listen); every metric
name the rules and the dashboard use must be in that scrape, or, for kha_vip_*, in a
real scrape of `kha vip` (in a network-namespace lab; skipped with the reason without root).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import yaml

from support import faults, harness, tools, web
from support.vip_lab import Lab, unavailable_reason

SOURCE = Path(os.environ.get("KHA_SOURCE_DIR", Path(__file__).resolve().parents[2]))
MON = SOURCE / "deploy" / "monitoring"
RULES = MON / "kha-alerts.rules.yml"
DASHBOARD = MON / "kha-dashboard.json"
LAB_REASON = unavailable_reason()

# Metric names: every kha series and the process_* ones; `up` is Prometheus' own.
NAME = re.compile(r"\b((?:kha|process)_[a-z0-9_]+)\b")
# Grafana's variables, as a query sees them once Grafana has filled them in.
GRAFANA_VARS = {"$__rate_interval": "5m", "$job": "kha-proxy", "$vip_job": "kha-vip", "$instance": ".*",
                "$frontend": ".*", "$backend": ".*"}


def promtool(*args, stdin=None):
    return subprocess.run(["promtool", *args], input=stdin, capture_output=True, text=True, timeout=120)


def alert_rules():
    return [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r]


def dashboard_queries():
    """Every PromQL expression of the dashboard's panels, variables filled in."""
    doc = json.loads(DASHBOARD.read_text())
    out = []
    for p in doc["panels"]:
        for t in p.get("targets", []):
            expr = t["expr"]
            for k in sorted(GRAFANA_VARS, key=len, reverse=True):
                expr = expr.replace(k, GRAFANA_VARS[k])
            out.append((p["title"], expr))
    return out


def dashboard_variable_queries():
    doc = json.loads(DASHBOARD.read_text())
    return [v["definition"] for v in doc["templating"]["list"] if v["type"] == "query"]


def names_in(texts):
    return {n for t in texts for n in NAME.findall(t)}


class RulesAndManifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tools.require("promtool")

    def test_promtool_check_rules(self):
        r = promtool("check", "rules", str(RULES))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(f"SUCCESS: {len(alert_rules())} rules found", r.stdout)

    def test_promtool_unit_tests_pass(self):
        files = sorted(str(p) for p in (MON / "tests").glob("*.yml"))
        self.assertTrue(files)
        r = promtool("test", "rules", *files)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_every_alert_fires_and_stays_silent_in_the_unit_tests(self):
        fires, silent = set(), set()
        for path in (MON / "tests").glob("*.yml"):
            for case in yaml.safe_load(path.read_text())["tests"]:
                for t in case.get("alert_rule_test", []):
                    (fires if t.get("exp_alerts") else silent).add(t["alertname"])
        names = {r["alert"] for r in alert_rules()}
        self.assertEqual(names - fires, set(), "alerts never seen firing")
        self.assertEqual(names - silent, set(), "alerts never seen silent")
        self.assertEqual((fires | silent) - names, set(), "tests of alerts that do not exist")

    def test_every_alert_has_severity_summary_and_description(self):
        for r in alert_rules():
            self.assertIn(r["labels"].get("severity"), ("warning", "critical"), r["alert"])
            self.assertTrue(r["annotations"].get("summary"), r["alert"])
            self.assertGreater(len(r["annotations"].get("description", "")), 80, r["alert"])

    def test_prometheusrule_is_generated_from_the_rules(self):
        r = subprocess.run([sys.executable, str(MON / "render_prometheusrule.py"), "--check"], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        pr = yaml.safe_load((MON / "kha-alerts.prometheusrule.yaml").read_text())
        self.assertEqual((pr["apiVersion"], pr["kind"]), ("monitoring.coreos.com/v1", "PrometheusRule"))
        self.assertEqual(pr["spec"], yaml.safe_load(RULES.read_text()))

    def test_podmonitor_selects_the_static_pod_as_job_kha_proxy(self):
        pm = yaml.safe_load((MON / "podmonitor.yaml").read_text())
        pod = yaml.safe_load((SOURCE / "deploy" / "kha-proxy.static-pod.yaml").read_text())
        self.assertEqual(pm["kind"], "PodMonitor")
        for k, v in pm["spec"]["selector"]["matchLabels"].items():
            self.assertEqual(pod["metadata"]["labels"].get(k), v, k)
        self.assertIn(pod["metadata"]["namespace"], pm["spec"]["namespaceSelector"]["matchNames"])
        relabel = pm["spec"]["podMetricsEndpoints"][0]["relabelings"]
        self.assertIn({"targetLabel": "job", "replacement": "kha-proxy"}, relabel)

    def test_scrape_example_is_a_valid_prometheus_config(self):
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "prometheus.yml"
            cfg.write_text((MON / "prometheus-scrape.example.yml").read_text() + f"rule_files: [{RULES}]\n")
            r = promtool("check", "config", str(cfg))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_dashboard_queries_parse(self):
        queries = dashboard_queries()
        self.assertGreater(len(queries), 20)
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries)]}]}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "dashboard-queries.yml"
            path.write_text(yaml.safe_dump(rules))
            r = promtool("check", "rules", str(path))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_dashboard_has_per_node_and_per_apiserver_views(self):
        doc = json.loads(DASHBOARD.read_text())
        rows = [p["title"] for p in doc["panels"] if p["type"] == "row"]
        self.assertTrue(any("Per node" in r for r in rows), rows)
        self.assertTrue(any("Per apiserver" in r for r in rows), rows)
        variables = {v["name"] for v in doc["templating"]["list"]}
        self.assertLessEqual({"datasource", "instance", "frontend", "backend"}, variables)
        ids = [p["id"] for p in doc["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids are unique")


class AgainstARealScrape(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tools.require("promtool")

    def setUp(self):
        faults.metrics_listen_setup(self, "kha-monitoring-")
        for _ in range(4):  # sessions, bytes and connect latencies with samples
            self.assertEqual(harness.https_get(self.proxy.url("/version"), ca=self.pki.ca).status, 200)
        r = web.request(f"http://127.0.0.1:{self.port}/metrics")
        self.assertEqual(r.status, 200)
        self.scrape = r.body

    def test_promtool_check_metrics_on_a_real_scrape(self):
        r = promtool("check", "metrics", stdin=self.scrape)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout + r.stderr, "", "no lint problem")

    def test_every_metric_the_rules_and_dashboard_use_is_scraped(self):
        scraped = {name for name, _, _ in web.parse_prometheus(self.scrape)}
        used = names_in([r["expr"] for r in alert_rules()] + [q for _, q in dashboard_queries()] +
                        dashboard_variable_queries())
        proxy_names = {n for n in used if not n.startswith("kha_vip_")}
        self.assertGreater(len(proxy_names), 15)
        self.assertEqual(proxy_names - scraped, set(), "used by the rules or the dashboard, absent from kha proxy")
        for n in ("process_open_fds", "process_max_fds", "kha_config_last_reload_successful", "kha_build_info",
                  "kha_proxy_accept_failures_total"):
            self.assertIn(n, scraped)

    @unittest.skipIf(LAB_REASON, f"kha vip needs a network-namespace lab: {LAB_REASON}")
    def test_every_vip_metric_the_rules_and_dashboard_use_is_scraped_from_kha_vip(self):
        lab = Lab().up()
        self.addCleanup(lab.down)
        lab.start_kha("lb1", 150)
        text = lab.admin_get("lb1", 9099, "/metrics")
        r = promtool("check", "metrics", stdin=text)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        scraped = {name for name, _, _ in web.parse_prometheus(text)}
        used = names_in([r["expr"] for r in alert_rules()] + [q for _, q in dashboard_queries()])
        vip_names = {n for n in used if n.startswith("kha_vip_")} | {"process_open_fds", "process_max_fds"}
        self.assertGreater(len(vip_names), 5)
        self.assertEqual(vip_names - scraped, set(), "used by the rules or the dashboard, absent from kha vip")
        labels = {tuple(sorted(lab_.items())) for name, lab_, _ in web.parse_prometheus(text) if name == "kha_vip_state"}
        self.assertEqual({dict(x)["state"] for x in labels}, {"initialize", "backup", "master", "fault"})


if __name__ == "__main__":
    unittest.main()
