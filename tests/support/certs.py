"""Test PKI with the openssl CLI: a CA, a server certificate and a client certificate."""

import subprocess
from pathlib import Path


class Pki:
    """Paths (str) of PEM files made by make_ca(): ca, ca_key, server_cert, server_key,
    client_cert, client_key; `dir` holds them all."""

    def __init__(self, directory):
        d = Path(directory)
        self.dir = str(d)
        self.ca = str(d / "ca.crt")
        self.ca_key = str(d / "ca.key")
        self.server_cert = str(d / "server.crt")
        self.server_key = str(d / "server.key")
        self.client_cert = str(d / "client.crt")
        self.client_key = str(d / "client.key")


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {r.stderr.strip()}")


def _san_entries(names):
    return [("IP:" if (":" in n or n.replace(".", "").isdigit()) else "DNS:") + n for n in names]


def _leaf(d, name, cn, usage, sans, days):
    ext = d / f"{name}.ext"
    lines = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
             f"extendedKeyUsage={usage}", "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"]
    if sans:
        lines.append("subjectAltName=" + ",".join(sans))
    ext.write_text("\n".join(lines) + "\n")
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-subj", f"/CN={cn}", "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", str(days), "-sha256", "-extfile", ext.name, "-out", f"{name}.crt", cwd=d)


def make_ca(directory, days=2, server_names=("127.0.0.1", "::1", "localhost"), client_cn="kha-test-client"):
    """Creates a CA, a server certificate for server_names (IP or DNS SANs) and a
    client certificate (CN=client_cn, clientAuth) in directory; returns Pki."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-subj", "/CN=kha test CA", "-days", str(days), "-sha256", "-keyout", "ca.key", "-out", "ca.crt",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=d)
    _leaf(d, "server", "kha-test-server", "serverAuth", _san_entries(server_names), days)
    _leaf(d, "client", client_cn, "clientAuth", [], days)
    return Pki(d)


def issue_server(pki, name, names, days=2):
    """Issues another server certificate from pki's CA for `names` (IP literals or DNS names,
    as make_ca's server_names), written as NAME.crt and NAME.key in pki.dir; returns
    (cert path, key path). An empty `names` gives a certificate without SANs."""
    _leaf(Path(pki.dir), name, f"kha-test-{name}", "serverAuth", _san_entries(names), days)
    return str(Path(pki.dir) / f"{name}.crt"), str(Path(pki.dir) / f"{name}.key")
