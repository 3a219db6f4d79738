#!/bin/sh
# kha-discovery-kubeconfig.sh SERVER [FILE]: prints a kubeconfig for kha's discovery
# from the token Secret of deploy/kha-discovery.rbac.yaml (applied first), with the
# token and CA inline. SERVER is what kha verifies the apiserver's certificate against:
# https://127.0.0.1:6443 for the node-local proxy, or the LB's name. FILE: write there
# (mode 0640, group kha when it exists) instead of standard output.
set -eu
server="${1:?usage: kha-discovery-kubeconfig.sh SERVER [FILE]}"
out="${2:-}"
secret="$(kubectl -n kube-system get secret kha-discovery-token -o jsonpath='{.data.token} {.data.ca\.crt}')"
token="$(printf '%s' "${secret% *}" | base64 -d)"
ca="${secret#* }"
[ -n "$token" ] && [ -n "$ca" ] || { echo "kha-discovery-token has no token or ca.crt yet" >&2; exit 1; }
config="apiVersion: v1
kind: Config
current-context: kha-discovery
clusters:
  - name: cluster
    cluster:
      server: ${server}
      certificate-authority-data: ${ca}
users:
  - name: kha-discovery
    user:
      token: ${token}
contexts:
  - name: kha-discovery
    context:
      cluster: cluster
      user: kha-discovery
"
if [ -z "$out" ]; then
  printf '%s' "$config"
else
  (umask 027 && printf '%s' "$config" > "$out")
  getent group kha >/dev/null && chgrp kha "$out" || true
fi
