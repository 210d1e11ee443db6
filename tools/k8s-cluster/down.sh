#!/usr/bin/env bash
# Stop zen's one-node Kubernetes cluster (idempotent).
#   tools/k8s-cluster/down.sh          stop everything up.sh started, by PID file;
#                                      etcd data, images and certs are kept
#   tools/k8s-cluster/down.sh --purge  also delete the state dir (a fresh cluster
#                                      next time; the binaries cache is kept)
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

PIDS="$STATE/pids"
PURGE=0
[ "${1:-}" = --purge ] && PURGE=1

pid_of() { # pid_of NAME BINARY -> pid if $PIDS/NAME.pid names a live BINARY process
  local f="$PIDS/$1.pid" pid
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" \
    && echo "$pid"
}
stop_pid() { # stop_pid PID LABEL: TERM, wait up to 20 s, then KILL
  local pid="$1" label="$2"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 40); do [ -d "/proc/$pid" ] || { log "stopped $label (pid $pid)"; return 0; }; sleep 0.5; done
  log "$label (pid $pid) ignored SIGTERM: SIGKILL"
  kill -KILL "$pid" 2>/dev/null; sleep 0.5
}
stop() { # stop NAME BINARY
  local pid
  if pid="$(pid_of "$1" "$2")"; then stop_pid "$pid" "$1"; else log "$1 not running"; fi
  rm -f "$PIDS/$1.pid"
}

# 1. kubelet first, so it does not restart the pods we tear down.
stop kubelet kubelet

# 2. pod sandboxes, through CRI: stops the containers, tears down the CNI
#    network (veth, IP, iptables masquerade rules), the netns and /dev/shm mounts.
if pid_of containerd containerd >/dev/null; then
  if [ -x "$K8S_BIN/cri" ]; then
    log "removing pod sandboxes"
    "$K8S_BIN/cri" "$CONTAINERD_SOCK" rmp >&2 || log "some sandboxes could not be removed (see above)"
  fi
fi

# 3. control plane and runtime.
stop kube-scheduler kube-scheduler
stop kube-controller-manager kube-controller-manager
stop kube-apiserver kube-apiserver
stop containerd containerd

# 4. containerd shims (and their containers) left behind: only those of *our*
#    containerd, recognised by its socket path on their command line.
for d in /proc/[0-9]*; do
  cmd="$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null)" || continue
  case "$cmd" in
    *containerd-shim*"$CONTAINERD_SOCK"*)
      shim="${d#/proc/}"
      for c in $(ps -o pid= --ppid "$shim" 2>/dev/null); do kill -KILL "$c" 2>/dev/null; done
      stop_pid "$shim" "containerd-shim"
      ;;
  esac
done

stop etcd etcd

# 5. mounts under the state dir (container rootfs overlays, shm, secret and
#    token tmpfs of pod volumes), deepest first.
mapfile -t mnts < <(awk -v s="$STATE/" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort -r)
for m in "${mnts[@]}"; do
  m="$(printf '%b' "$m")"   # mountinfo escapes spaces as \040
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
done
[ ${#mnts[@]} -gt 0 ] && log "unmounted ${#mnts[@]} mount(s) under $STATE"

# 6. the CNI bridge (re-created by the first pod after the next up.sh).
if ip link show zen0 >/dev/null 2>&1; then ip link del zen0 && log "deleted bridge zen0"; fi

if [ "$PURGE" = 1 ]; then
  rm -rf "$STATE" && log "purged $STATE"
fi
log "cluster is down"
