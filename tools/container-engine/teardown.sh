#!/usr/bin/env bash
# Stop what tools/container-engine/setup.sh started: the podman API service and
# the local registry, by their PID files only (a pid is signalled only while its
# command line still is the one we started). Removes the socket. Idempotent.
# Images, the base rootfs tarball and registry data stay cached in the state dir.
set -euo pipefail

STATE=$(realpath -m "${ZEN_ENGINE_HOME:-$HOME/.cache/zen/engine}")
log() { printf '[zen-engine] %s\n' "$*" >&2; }

# stop NAME PIDFILE PATTERN
stop() {
    local name=$1 pidfile=$2 pattern=$3 pid i cmdline
    if [[ ! -f $pidfile ]]; then
        log "$name: not running (no $pidfile)"
        return 0
    fi
    pid=$(<"$pidfile")
    cmdline=""
    [[ $pid =~ ^[0-9]+$ ]] && cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)
    if [[ $cmdline != *"$pattern"* ]]; then
        log "$name: pid ${pid:-?} is not ours or not running (stale $pidfile removed)"
        rm -f "$pidfile"
        return 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name: pid $pid ignored SIGTERM for 15 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    log "$name: stopped pid $pid"
}

stop "podman service" "$STATE/podman.pid" "system service"
stop "registry" "$STATE/registry.pid" "docker-registry serve"
rm -f "$STATE/podman.sock"
