#!/usr/bin/env bash
# Load a local image tarball into the cluster's containerd (namespace k8s.io),
# where the kubelet finds it: no registry needed.
#   tools/k8s-cluster/load-image.sh IMAGE_TAR [IMAGE_TAR...]
# Accepts `docker save` / `podman save` (docker-archive) and OCI archives, e.g.
#   podman save localhost/zen-step:dev -o /tmp/step.tar && load-image.sh /tmp/step.tar
# Pods must then use that exact name with imagePullPolicy IfNotPresent or Never
# (a :latest tag defaults to Always, which tries a registry and fails).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

[ $# -ge 1 ] || die "usage: $0 IMAGE_TAR [IMAGE_TAR...]"
[ -S "$CONTAINERD_SOCK" ] || die "containerd socket $CONTAINERD_SOCK not found: run up.sh first"
for tar in "$@"; do
  [ -f "$tar" ] || die "no such file: $tar"
  log "importing $tar"
  ctr_ images import "$tar" >&2
done
ctr_ images ls -q
