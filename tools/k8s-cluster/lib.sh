# shellcheck shell=bash disable=SC2034
# Shared settings for the zen one-node Kubernetes cluster tooling.
# Sourced by build.sh, up.sh, down.sh, load-image.sh.  Not executable on its own.

# The one pinned Kubernetes release.  <= 1.34 on purpose: newer kubelets
# refuse cgroup v1 unless told otherwise, and the dev/CI machines are cgroup v1
# (hybrid).  The staging repos (k8s.io/api, client-go, ...) are published as
# v0.<minor>.<patch>, derived below.
K8S_VERSION="${ZEN_K8S_VERSION:-v1.34.4}"
K8S_STAGING_VERSION="v0.${K8S_VERSION#v1.}"

ZEN_K8S_HOME="${ZEN_K8S_HOME:-$HOME/.cache/zen/k8s}"
K8S_BIN="$ZEN_K8S_HOME/bin/$K8S_VERSION"
K8S_BUILD="$ZEN_K8S_HOME/build/$K8S_VERSION"
# Runtime state (certs, etcd data, containerd root, logs, pid files, kubeconfig).
STATE="${ZEN_K8S_STATE:-$ZEN_K8S_HOME/state}"

# Images made locally (nothing can be pulled from a public registry here).
PAUSE_IMAGE="registry.k8s.io/pause:3.10"
BUSYBOX_IMAGE="docker.io/library/busybox:zen"

CONTAINERD_SOCK="$STATE/run/containerd/containerd.sock"

export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

log() { printf '[k8s-cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ctr_() { ctr --address "$CONTAINERD_SOCK" -n k8s.io "$@"; }

# make_image_tar NAME ROOTFS_DIR OUT_TAR ENTRYPOINT_JSON [CMD_JSON]
# Writes a docker-archive ("docker save" format) tarball with one layer made of
# ROOTFS_DIR, which `ctr images import` and `podman load` both accept.
make_image_tar() {
  local name="$1" rootfs="$2" out="$3" entry="$4" cmd="${5:-null}"
  local work; work="$(mktemp -d)"
  tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -cf "$work/layer.tar" .
  local diffid; diffid="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
  cat >"$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Entrypoint":$entry,"Cmd":$cmd,"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["sha256:$diffid"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"zen tools/k8s-cluster"}]}
EOF
  local cid; cid="$(sha256sum "$work/config.json" | cut -d' ' -f1)"
  mv "$work/config.json" "$work/$cid.json"
  mkdir -p "$work/$diffid" && mv "$work/layer.tar" "$work/$diffid/layer.tar"
  printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' \
    "$cid" "$name" "$diffid" >"$work/manifest.json"
  tar -C "$work" -cf "$out" manifest.json "$cid.json" "$diffid"
  rm -rf "$work"
}
