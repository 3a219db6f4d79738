"""deploy/: the static pod and DaemonSet manifests for kha proxy, and the Dockerfile.

kubectl (a real client) parses each manifest with
`kubectl apply --dry-run=client --validate=false -f` and prints the object it
would send as JSON; the fields kha relies on are checked on that JSON. A client
dry run still asks the server which kinds exist, so the test serves the
discovery documents for v1 and apps/v1 (and 404 for every object) from a small
HTTP server on 127.0.0.1; no cluster is involved.

The Dockerfile is checked as text only: docker cannot run on the build machines.
"""
import json
import os
import re
import shutil
import subprocess
import threading
from support import tools
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SOURCE = Path(os.environ.get("KHA_SOURCE_DIR", Path(__file__).resolve().parents[2]))
DEPLOY = SOURCE / "deploy"

VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]
DISCOVERY = {
    "/api": {"kind": "APIVersions", "versions": ["v1"],
             "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
         "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}}]},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": VERBS},
        {"name": "configmaps", "singularName": "configmap", "namespaced": True, "kind": "ConfigMap", "verbs": VERBS},
        {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace",
         "verbs": VERBS}]},
    "/apis/apps/v1": {"kind": "APIResourceList", "groupVersion": "apps/v1", "resources": [
        {"name": "daemonsets", "singularName": "daemonset", "namespaced": True, "kind": "DaemonSet",
         "verbs": VERBS}]},
}


class Discovery(BaseHTTPRequestHandler):
    """Answers API discovery; every object is NotFound, so apply takes the create path."""

    def do_GET(self):  # noqa: N802 (http.server naming)
        path = self.path.split("?")[0]
        body = DISCOVERY.get(path)
        code = 200
        if body is None:
            code = 404
            body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
                    "message": f"{path} not found", "code": 404}
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def kubectl_dry_run(server, manifest):
    """Returns (process, [objects]) for `kubectl apply --dry-run=client` of manifest."""
    args = ["kubectl", "apply", "--dry-run=client", "--validate=false", f"--server={server}",
            "--insecure-skip-tls-verify", "--request-timeout=20s", "-f", str(manifest)]
    env = dict(os.environ, KUBECONFIG=os.devnull, HOME=os.environ.get("TMPDIR", "/tmp"))
    text_run = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)
    json_run = subprocess.run(args + ["-o", "json"], capture_output=True, text=True, env=env, timeout=120)
    objects = []
    if json_run.returncode == 0:
        doc = json.loads(json_run.stdout)
        objects = doc["items"] if doc.get("kind") == "List" else [doc]
    return text_run, json_run, objects


class Manifests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        tools.require("kubectl")
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), Discovery)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = f"http://127.0.0.1:{cls.server.server_address[1]}"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def parse(self, name, expected_line):
        text_run, json_run, objects = kubectl_dry_run(self.url, DEPLOY / name)
        self.assertEqual(text_run.returncode, 0, text_run.stderr)
        self.assertIn(expected_line, text_run.stdout)
        self.assertEqual(json_run.returncode, 0, json_run.stderr)
        self.assertEqual(len(objects), 1)
        return objects[0]

    def check_pod_spec(self, spec):
        """The fields kha relies on, the same in both variants."""
        self.assertIs(spec["hostNetwork"], True)
        self.assertEqual(spec["dnsPolicy"], "ClusterFirstWithHostNet")
        self.assertEqual(spec["priorityClassName"], "system-node-critical")
        self.assertEqual(spec["nodeSelector"], {"kubernetes.io/os": "linux"})
        self.assertIs(spec["securityContext"]["runAsNonRoot"], True)
        self.assertEqual(spec["securityContext"]["runAsUser"], dockerfile_uid())
        # shutdown_grace (30s by default) must fit in the pod's grace period.
        self.assertGreater(spec["terminationGracePeriodSeconds"], 30)
        (container,) = spec["containers"]
        # The static pod also waits for the port of the proxy it replaces (--bind-retry).
        self.assertEqual(container["command"][:4], ["/usr/bin/kha", "proxy", "--config", "/etc/kha/kha.yaml"])
        self.assertIn(container["command"][4:], ([], ["--bind-retry", "10m"]))
        # Kubespray's nginx proxy requests cpu 25m and memory 32M and sets no limits; kha asks no more.
        self.assertEqual(container["resources"], {"requests": {"cpu": "25m", "memory": "32M"}})
        host, port = admin_listen()
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = container[probe]["httpGet"]
            self.assertEqual((get["host"], get["port"], get["path"]), (host, port, path), probe)
        sc = container["securityContext"]
        self.assertIs(sc["allowPrivilegeEscalation"], False)
        self.assertIs(sc["readOnlyRootFilesystem"], True)
        self.assertEqual(sc["capabilities"], {"drop": ["ALL"]})
        (mount,) = container["volumeMounts"]
        self.assertEqual((mount["mountPath"], mount["readOnly"]), ("/etc/kha", True))
        (volume,) = spec["volumes"]
        self.assertEqual(volume["name"], mount["name"])
        return volume

    def test_static_pod(self):
        pod = self.parse("kha-proxy.static-pod.yaml", "pod/kha-proxy created (dry run)")
        self.assertEqual((pod["apiVersion"], pod["kind"]), ("v1", "Pod"))
        self.assertEqual(pod["metadata"]["namespace"], "kube-system")
        volume = self.check_pod_spec(pod["spec"])
        # A static pod cannot use ConfigMaps: the config comes from the host.
        self.assertEqual(volume["hostPath"], {"path": "/etc/kha", "type": "Directory"})

    def test_daemonset(self):
        ds = self.parse("kha-proxy.daemonset.yaml", "daemonset.apps/kha-proxy created (dry run)")
        self.assertEqual((ds["apiVersion"], ds["kind"]), ("apps/v1", "DaemonSet"))
        self.assertEqual(ds["metadata"]["namespace"], "kube-system")
        template = ds["spec"]["template"]
        self.assertEqual(ds["spec"]["selector"]["matchLabels"].items() - template["metadata"]["labels"].items(), set())
        spec = template["spec"]
        self.assertIn({"operator": "Exists"}, spec["tolerations"])
        volume = self.check_pod_spec(spec)
        self.assertEqual(volume["configMap"]["name"], "kha-proxy-config")

    def test_a_broken_manifest_is_rejected(self):
        # The same parse that accepts the manifests must fail on a malformed one.
        broken = Path(os.environ.get("TMPDIR", "/tmp")) / f"kha-broken-{os.getpid()}.yaml"
        broken.write_text((DEPLOY / "kha-proxy.static-pod.yaml").read_text().replace("kind: Pod", "kind: Pood"))
        try:
            text_run, _, _ = kubectl_dry_run(self.url, broken)
        finally:
            broken.unlink()
        self.assertNotEqual(text_run.returncode, 0)
        self.assertIn("Pood", text_run.stderr)


def admin_listen():
    """The admin address of the shipped node-local config, which the probes must reach."""
    text = (SOURCE / "packaging/kha.yaml").read_text()
    listen = re.search(r"(?m)^admin:\n(?:\s+#.*\n)*\s+listen: (\S+)$", text).group(1)
    host, port = listen.rsplit(":", 1)
    return host, int(port)


def dockerfile_uid():
    text = (DEPLOY / "Dockerfile").read_text()
    return int(re.search(r"(?m)^USER (\d+):\d+$", text).group(1))


class Dockerfile(unittest.TestCase):
    def test_multi_stage_debian_builder_and_slim_runtime(self):
        text = (DEPLOY / "Dockerfile").read_text()
        stages = re.findall(r"(?m)^FROM (\S+)(?: AS (\w+))?$", text)
        self.assertEqual(stages, [("debian:12", "build"), ("debian:12-slim", "")])
        self.assertIn("--target package", text)  # the image carries the same binary as the .deb
        self.assertRegex(text, r"(?m)^COPY --from=build ")
        self.assertRegex(text, r'(?m)^ENTRYPOINT \["/usr/bin/kha"\]$')
        self.assertNotEqual(dockerfile_uid(), 0)


if __name__ == "__main__":
    unittest.main()
