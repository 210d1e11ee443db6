#!/usr/bin/env bash
# A kind cluster for zen's kubernetes integration tests, on a machine with Docker.
#
#   eval "$(tools/k8s-cluster/kind-up.sh)"          # create (or reuse) it; prints export lines
#   nox -s "integration(backend='kubernetes')"       # the tests take it through KUBECONFIG
#   tools/k8s-cluster/kind-up.sh --down              # delete the cluster and its registry
#
# What it sets up (the kind "local registry" recipe, plus a shared folder):
#   * a registry:2 container on 127.0.0.1:$ZEN_KIND_REGISTRY_PORT (5001), which the
#     node's containerd reaches as localhost:5001 (certs.d hosts.toml -> the container);
#   * the kind cluster "$ZEN_KIND_CLUSTER" (zen), one node, with the host folder
#     $ZEN_K8S_TEST_STORE_ROOT (/tmp/zen-k8s-shared) mounted at the same path, so a
#     local artifact store declared `shared` there is seen by pods through hostPath;
#   * its kubeconfig in $ZEN_KIND_KUBECONFIG (~/.kube/zen-kind.yaml).
# stdout: export KUBECONFIG=... ZEN_TEST_REGISTRY=localhost:5001 ZEN_K8S_TEST_STORE_ROOT=...
# progress goes to stderr. Needs docker and kind (https://kind.sigs.k8s.io) on PATH;
# ZEN_KIND_NODE_IMAGE picks the node image (kindest/node:vX.Y.Z).
#
# This script cannot run on the project's own dev/CI machines (no Docker daemon, no
# images to pull): there, up.sh builds a cluster from source instead. It is here for
# machines that have Docker, where the same tests then run against kind.
set -euo pipefail

CLUSTER="${ZEN_KIND_CLUSTER:-zen}"
REG_NAME="${ZEN_KIND_REGISTRY_NAME:-zen-kind-registry}"
REG_PORT="${ZEN_KIND_REGISTRY_PORT:-5001}"
SHARED="${ZEN_K8S_TEST_STORE_ROOT:-/tmp/zen-k8s-shared}"
KUBECONFIG_OUT="${ZEN_KIND_KUBECONFIG:-$HOME/.kube/zen-kind.yaml}"

log() { printf '[kind-up %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v docker >/dev/null || die "docker is not on PATH"
command -v kind >/dev/null || die "kind is not on PATH: see https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
docker info >/dev/null 2>&1 || die "the Docker daemon does not answer"

if [ "${1:-}" = "--down" ]; then
  log "deleting kind cluster $CLUSTER and registry container $REG_NAME"
  kind delete cluster --name "$CLUSTER" --kubeconfig "$KUBECONFIG_OUT" >&2 || true
  docker rm -f "$REG_NAME" >/dev/null 2>&1 || true
  exit 0
fi

# 1. the registry
if [ "$(docker inspect -f '{{.State.Running}}' "$REG_NAME" 2>/dev/null || true)" != "true" ]; then
  docker rm -f "$REG_NAME" >/dev/null 2>&1 || true
  log "starting registry:2 as $REG_NAME on 127.0.0.1:$REG_PORT"
  docker run -d --restart=always -p "127.0.0.1:${REG_PORT}:5000" --network bridge --name "$REG_NAME" \
    registry:2 >/dev/null
fi

# 2. the cluster
mkdir -p "$SHARED" "$(dirname "$KUBECONFIG_OUT")"
if ! kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  log "creating kind cluster $CLUSTER (shared folder $SHARED)"
  config="$(mktemp)"
  cat >"$config" <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
containerdConfigPatches:
- |-
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "/etc/containerd/certs.d"
nodes:
- role: control-plane
  extraMounts:
  - hostPath: $SHARED
    containerPath: $SHARED
EOF
  image_args=()
  [ -n "${ZEN_KIND_NODE_IMAGE:-}" ] && image_args=(--image "$ZEN_KIND_NODE_IMAGE")
  kind create cluster --name "$CLUSTER" --config "$config" --kubeconfig "$KUBECONFIG_OUT" \
    "${image_args[@]}" --wait 180s >&2
  rm -f "$config"
else
  log "kind cluster $CLUSTER exists: reusing it"
  kind export kubeconfig --name "$CLUSTER" --kubeconfig "$KUBECONFIG_OUT" >&2
fi

# 3. containerd on every node pulls localhost:$REG_PORT from the registry container
for node in $(kind get nodes --name "$CLUSTER"); do
  dir="/etc/containerd/certs.d/localhost:${REG_PORT}"
  docker exec "$node" mkdir -p "$dir"
  printf '[host."http://%s:5000"]\n' "$REG_NAME" | docker exec -i "$node" cp /dev/stdin "$dir/hosts.toml"
done
if [ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$REG_NAME")" = "null" ]; then
  docker network connect kind "$REG_NAME"
fi
# (the node's own kubectl: the host needs none)
first_node="$(kind get nodes --name "$CLUSTER" | head -n1)"
docker exec -i "$first_node" kubectl --kubeconfig /etc/kubernetes/admin.conf apply -f - >&2 <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:${REG_PORT}"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
EOF

log "ready: kind cluster $CLUSTER, registry localhost:$REG_PORT, shared folder $SHARED"
echo "export KUBECONFIG=$KUBECONFIG_OUT"
echo "export ZEN_TEST_REGISTRY=localhost:$REG_PORT"
echo "export ZEN_K8S_TEST_STORE_ROOT=$SHARED"
