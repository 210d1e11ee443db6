#!/usr/bin/env bash
# zen container engine: a Docker-API endpoint for integration tests on machines
# without a Docker daemon (and without access to any image registry).
#
#   eval "$(tools/container-engine/setup.sh)"      # or: source "$STATE/env.sh"
#
# What it does (each phase is skipped when already done; safe to re-run):
#   0. If DOCKER_HOST (or /var/run/docker.sock) already answers the Docker API,
#      prints that and exits without touching anything.
#   1. apt-get installs podman, runc, debootstrap, docker-registry (if missing).
#   2. Writes containers.conf / storage.conf / registries.conf in the state dir.
#   3. Builds a Python base image without any registry (debootstrap bookworm),
#      imports it as localhost/bookworm-python:latest and tags it
#      docker.io/library/python:3.11-slim.
#   4. Starts `podman system service` on a unix socket in the state dir.
#   5. Starts a local registry (Debian's docker-registry) on 127.0.0.1.
#   6. Prints the `export ...` lines on stdout and writes them to $STATE/env.sh.
#
# Progress goes to stderr; only the export lines go to stdout.
# See README.md next to this file for env vars, cache locations and traps.
set -euo pipefail

STATE=$(realpath -m "${ZEN_ENGINE_HOME:-$HOME/.cache/zen/engine}")
REGISTRY_PORT="${ZEN_REGISTRY_PORT:-5000}"
WAIT_SECONDS="${ZEN_ENGINE_WAIT:-30}"
MIRROR="${ZEN_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${ZEN_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
SUITE=bookworm
BASE_PACKAGES="python3,python3-pip,python3-venv,ca-certificates,python-is-python3"
BASE_IMAGE=localhost/bookworm-python:latest
# extra names for the base image, so `FROM python:3.11-slim` builds unchanged
read -r -a PYTHON_TAGS <<<"${ZEN_ENGINE_PYTHON_TAGS:-docker.io/library/python:3.11-slim}"
# Bump when the way the base image is made changes (forces a rebuild).
BASE_RECIPE=3
APT_PACKAGES=(podman runc debootstrap docker-registry)

SOCK="$STATE/podman.sock"
CONF_DIR="$STATE/conf"
RUN_DIR="$STATE/run"          # runroot + podman tmp_dir; wiped after a reboot
LOG_DIR="$STATE/logs"
BASE_DIR="$STATE/base"
REG_DIR="$STATE/registry"
PODMAN_PID="$STATE/podman.pid"
REGISTRY_PID="$STATE/registry.pid"

export CONTAINERS_CONF="$CONF_DIR/containers.conf"
export CONTAINERS_STORAGE_CONF="$CONF_DIR/storage.conf"
export CONTAINERS_REGISTRIES_CONF="$CONF_DIR/registries.conf"

# ---------------------------------------------------------------- helpers ---
log() { printf '[zen-engine] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now_us() { local t="${EPOCHREALTIME//[!0-9]/}"; echo "$((10#$t))"; }
fmt_s() { local d=$1; printf '%d.%01ds' "$((d / 1000000))" "$(((d / 100000) % 10))"; }
SCRIPT_T0=$(now_us)
phase() { PHASE_NAME=$1; shift; PHASE_T0=$(now_us); log "==> $PHASE_NAME: $*"; }
phase_done() { log "<== $PHASE_NAME: ${1:-done} ($(fmt_s $(($(now_us) - PHASE_T0))))"; }

# probe TARGET: TARGET is unix:///path (Docker API /_ping) or http://host:port/path.
# Exit 0 when it answers HTTP 200 within 3 s.
probe() {
    python3 - "$1" <<'PY' >/dev/null 2>&1
import http.client, socket, sys
target = sys.argv[1]
class UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=3)
        self.unix_path = path
    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(3)
        s.connect(self.unix_path)
        self.sock = s
if target.startswith("unix://"):
    conn, path = UnixHTTP(target[len("unix://"):]), "/_ping"
else:
    rest = target.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    conn, path = http.client.HTTPConnection(hostport, timeout=3), "/" + path
conn.request("GET", path)
sys.exit(0 if conn.getresponse().status == 200 else 1)
PY
}

# docker_api_ok DOCKER_HOST_VALUE: does it answer the Docker API?
docker_api_ok() {
    local host=$1
    if command -v docker >/dev/null 2>&1; then
        DOCKER_HOST=$host timeout 15 docker version >/dev/null 2>&1 && return 0
    fi
    case $host in
        unix://*) probe "$host" ;;
        tcp://*) [[ -z "${DOCKER_TLS_VERIFY:-}" ]] && probe "http://${host#tcp://}/_ping" ;;
        *) return 1 ;;
    esac
}

# pid_is PIDFILE PATTERN: prints the pid when it is alive and its command line
# matches PATTERN (guards against a recycled pid).
pid_is() {
    local pidfile=$1 pattern=$2 pid cmdline
    [[ -f $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" || true)
    [[ $cmdline == *"$pattern"* ]] || return 1
    echo "$pid"
}

stop_pid() {  # stop_pid PID: TERM, then KILL after 15 s
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

# write_if_changed FILE CONTENT -> returns 0 when the file was (re)written
write_if_changed() {
    local file=$1 content=$2
    if [[ -f $file ]] && [[ "$(<"$file")" == "$content" ]]; then return 1; fi
    printf '%s\n' "$content" >"$file.tmp"
    mv "$file.tmp" "$file"
    return 0
}

# unmount everything below DIR (deepest first), e.g. /proc left by debootstrap
umount_below() {
    local dir mnt
    dir=$(realpath -m "$1")
    awk -v d="$dir" '$2 == d || index($2, d "/") == 1 {print $2}' /proc/mounts | sort -r |
        while read -r mnt; do
            umount -l "$mnt" 2>/dev/null || true
        done
}

safe_rm_tree() {
    [[ -e $1 ]] || return 0
    umount_below "$1"
    rm -rf --one-file-system "$1"
}

pm() { podman "$@"; }

# ------------------------------------------- 0. an existing Docker API? ---
ours=0
if [[ ${DOCKER_HOST:-} == unix://* && "$(realpath -m "${DOCKER_HOST#unix://}")" == "$SOCK" ]]; then
    ours=1  # our own socket from an earlier run: go through the normal checks
fi
if [[ -n "${DOCKER_HOST:-}" ]] && ((!ours)); then
    if docker_api_ok "$DOCKER_HOST"; then
        log "DOCKER_HOST=$DOCKER_HOST already answers the Docker API: using it, nothing to set up"
        printf 'export DOCKER_HOST=%q\n' "$DOCKER_HOST"
        exit 0
    fi
    log "DOCKER_HOST=$DOCKER_HOST does not answer; setting up podman instead"
fi
if [[ -S /var/run/docker.sock ]] && docker_api_ok unix:///var/run/docker.sock; then
    log "/var/run/docker.sock answers the Docker API: using it, nothing to set up"
    echo "export DOCKER_HOST=unix:///var/run/docker.sock"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || die "needs root (rootful podman, apt-get, debootstrap)"
((${#SOCK} <= 100)) || die "socket path too long for a unix socket: $SOCK (shorten ZEN_ENGINE_HOME)"
mkdir -p "$STATE" "$CONF_DIR" "$RUN_DIR" "$LOG_DIR" "$BASE_DIR" "$REG_DIR"
exec 9>"$STATE/setup.lock"
flock -w 900 9 || die "another setup.sh holds $STATE/setup.lock"
log "state dir: $STATE"

# ----------------------------------------------------------- 1. packages ---
phase packages "apt packages ${APT_PACKAGES[*]}"
missing=()
for p in "${APT_PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
    updated=0
    for p in "${missing[@]}"; do
        policy=$(apt-cache policy "$p" 2>/dev/null || true)
        if [[ $policy != *"Candidate: "[!\(]* ]]; then
            log "apt-get update (no candidate for $p)"
            apt-get update -qq -o DPkg::Lock::Timeout=600 >&2
            updated=1
            break
        fi
    done
    # docker-registry's postinst would start a registry on *:5000 where an
    # init system is present; deny service starts during the install.
    created_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    apt_install() {
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 \
            "${missing[@]}" >&2
    }
    log "apt-get install -y ${missing[*]}"
    if ! apt_install; then
        ((updated)) && { ((created_policy)) && rm -f /usr/sbin/policy-rc.d; die "apt-get install failed"; }
        log "install failed; apt-get update and retry once"
        apt-get update -qq -o DPkg::Lock::Timeout=600 >&2
        apt_install || { ((created_policy)) && rm -f /usr/sbin/policy-rc.d; die "apt-get install failed"; }
    fi
    ((created_policy)) && rm -f /usr/sbin/policy-rc.d
    phase_done "installed ${missing[*]}"
else
    phase_done "already installed"
fi

# -------------------------------------------------------------- 2. config ---
phase config "containers.conf, storage.conf, registries.conf in $CONF_DIR"
config_changed=0
write_if_changed "$CONTAINERS_CONF" "# written by tools/container-engine/setup.sh
[containers]
# the default ulimits are refused here: setrlimit RLIMIT_NOFILE: Operation not permitted
default_ulimits = [\"nofile=20000:20000\", \"nproc=32768:32768\"]
log_driver = \"k8s-file\"

[engine]
# crun fails here: cgroups in hybrid mode not supported
runtime = \"runc\"
cgroup_manager = \"cgroupfs\"
events_logger = \"file\"
events_logfile_path = \"$RUN_DIR/events/events.log\"
tmp_dir = \"$RUN_DIR/libpod\"" && config_changed=1
write_if_changed "$CONTAINERS_STORAGE_CONF" "# written by tools/container-engine/setup.sh
[storage]
driver = \"overlay\"
graphroot = \"$STATE/storage\"
runroot = \"$RUN_DIR/storage\"" && config_changed=1
write_if_changed "$CONTAINERS_REGISTRIES_CONF" "# written by tools/container-engine/setup.sh
unqualified-search-registries = [\"docker.io\"]
short-name-mode = \"permissive\"

[[registry]]
location = \"127.0.0.1:$REGISTRY_PORT\"
insecure = true

[[registry]]
location = \"localhost:$REGISTRY_PORT\"
insecure = true" && config_changed=1
# runroot/tmp_dir live on disk (not tmpfs): after a reboot their content is
# stale and confuses podman, so wipe them when the boot id changed.
boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
if [[ -f $STATE/boot_id && "$(<"$STATE/boot_id")" != "$boot_id" ]]; then
    log "machine rebooted since the last run: clearing $RUN_DIR"
    rm -f "$PODMAN_PID" "$REGISTRY_PID" "$SOCK"
    safe_rm_tree "$RUN_DIR"
    mkdir -p "$RUN_DIR"
fi
echo "$boot_id" >"$STATE/boot_id"
if ((config_changed)); then phase_done "written"; else phase_done "unchanged"; fi

# ---------------------------------------------------------- 3. base image ---
phase base-image "$BASE_IMAGE (+ ${PYTHON_TAGS[*]})"
# pip settings of the host worth carrying into the image (index/mirror, cert,
# timeouts); host-local ones such as find-links are dropped.
pip_conf=$(python3 - <<'PY' 2>/dev/null || true
import ast, subprocess, sys
keep = {"index-url", "extra-index-url", "trusted-host", "cert", "client-cert",
        "timeout", "default-timeout", "retries", "disable-pip-version-check",
        "no-python-version-warning"}
try:
    out = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                         capture_output=True, text=True, timeout=60).stdout
except Exception:
    out = ""
sections = {}
for line in out.splitlines():
    key, sep, value = line.partition("=")
    if not sep:
        continue
    section, _, name = key.rpartition(".")
    section = "global" if section in (":env:", "global", "") else section
    if name not in keep:
        continue
    try:
        value = ast.literal_eval(value)
    except Exception:
        continue
    # environment (:env:) entries are listed first and win over files
    sections.setdefault(section, {}).setdefault(name, value)
for section in sorted(sections):
    print(f"[{section}]")
    for name, value in sorted(sections[section].items()):
        print(f"{name} = {value}")
PY
)
ca_files=(/usr/local/share/ca-certificates/*.crt)
[[ -e ${ca_files[0]} ]] || ca_files=()
base_hash=$(
    {
        echo "recipe=$BASE_RECIPE suite=$SUITE packages=$BASE_PACKAGES"
        echo "$pip_conf"
        for f in "${ca_files[@]}"; do echo "$f"; cat "$f"; done
    } | sha256sum | cut -c1-16
)
BASE_TAR="$BASE_DIR/bookworm-python-$base_hash.tar"

image_hash=$(pm image inspect --format '{{index .Labels "zen.engine.base"}}' "$BASE_IMAGE" 2>/dev/null || true)
if [[ $image_hash == "$base_hash" && -z "${ZEN_ENGINE_REBUILD_BASE:-}" ]]; then
    base_result="image present (hash $base_hash)"
else
    if [[ ! -f $BASE_TAR || -n "${ZEN_ENGINE_REBUILD_BASE:-}" ]]; then
        ROOTFS="$BASE_DIR/rootfs"
        safe_rm_tree "$ROOTFS"
        mkdir -p "$BASE_DIR/debs"
        log "debootstrap --variant=minbase $SUITE from $MIRROR (a few minutes; log: $LOG_DIR/debootstrap.log)"
        t=$(now_us)
        if ! debootstrap --variant=minbase --include="$BASE_PACKAGES" \
            --cache-dir="$BASE_DIR/debs" "$SUITE" "$ROOTFS" "$MIRROR" \
            >"$LOG_DIR/debootstrap.log" 2>&1; then
            tail -n 30 "$LOG_DIR/debootstrap.log" >&2
            [[ -f $ROOTFS/debootstrap/debootstrap.log ]] && tail -n 30 "$ROOTFS/debootstrap/debootstrap.log" >&2
            safe_rm_tree "$ROOTFS"
            die "debootstrap failed"
        fi
        umount_below "$ROOTFS"
        log "debootstrap done ($(fmt_s $(($(now_us) - t))))"

        # CAs: outbound HTTPS may go through an intercepting proxy whose CA the
        # host trusts via /usr/local/share/ca-certificates.
        if ((${#ca_files[@]})); then
            cp "${ca_files[@]}" "$ROOTFS/usr/local/share/ca-certificates/"
        fi
        chroot "$ROOTFS" /usr/sbin/update-ca-certificates --fresh >"$LOG_DIR/update-ca-certificates.log" 2>&1 \
            || { cat "$LOG_DIR/update-ca-certificates.log" >&2; die "update-ca-certificates failed in the rootfs"; }
        if [[ -n $pip_conf ]]; then
            printf '# carried over from the host by tools/container-engine/setup.sh\n%s\n' "$pip_conf" >"$ROOTFS/etc/pip.conf"
            # a cert bundle that is not the system one must exist in the image
            while read -r cert; do
                [[ -f $cert && ! -e $ROOTFS$cert ]] || continue
                mkdir -p "$ROOTFS$(dirname "$cert")"
                cp "$cert" "$ROOTFS$cert"
            done < <(sed -n 's/^\(client-\)\{0,1\}cert = //p' <<<"$pip_conf")
        fi
        # behave like the official python image: pip installs system-wide
        rm -f "$ROOTFS"/usr/lib/python3*/EXTERNALLY-MANAGED
        cat >"$ROOTFS/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
        # podman provides these at run time; do not bake the host's in
        rm -f "$ROOTFS/etc/resolv.conf" "$ROOTFS/etc/hostname"
        : >"$ROOTFS/etc/hostname"
        rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
            "$ROOTFS"/var/cache/debconf/*-old "$ROOTFS"/var/log/*.log
        chroot "$ROOTFS" python3 -c 'import ssl, venv, pip, sys; print(sys.version.split()[0])' \
            >"$BASE_DIR/python-version" || die "python3 does not work in the rootfs"
        log "rootfs python $(<"$BASE_DIR/python-version"); packing $BASE_TAR"
        tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
            -C "$ROOTFS" -cf "$BASE_TAR.tmp" .
        mv "$BASE_TAR.tmp" "$BASE_TAR"
        echo "$(<"$BASE_DIR/python-version")" >"$BASE_TAR.python-version"
        safe_rm_tree "$ROOTFS"
        # drop tarballs of older recipes
        find "$BASE_DIR" -maxdepth 1 -name 'bookworm-python-*.tar*' ! -name "$(basename "$BASE_TAR")*" -delete
        base_result="built from debootstrap"
    else
        base_result="re-imported cached rootfs tarball"
    fi
    pyver=$(cat "$BASE_TAR.python-version" 2>/dev/null || echo 3.11)
    log "podman import $BASE_TAR -> $BASE_IMAGE"
    pm import --quiet \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' \
        --change "ENV PYTHON_VERSION=$pyver" \
        --change 'CMD ["python3"]' \
        --change "LABEL zen.engine.base=$base_hash" \
        "$BASE_TAR" "$BASE_IMAGE" >/dev/null
    base_result="$base_result (hash $base_hash)"
    for tag in "${PYTHON_TAGS[@]}"; do
        pm tag "$BASE_IMAGE" "$tag"
    done
    # drop the untagged previous base image, if any (and other dangling images)
    pm image prune -f >/dev/null 2>&1 || true
fi
for tag in "${PYTHON_TAGS[@]}"; do
    pm image exists "$tag" || pm tag "$BASE_IMAGE" "$tag"
done
phase_done "$base_result"

# ------------------------------------------------------ 4. podman service ---
phase podman-service "podman system service on unix://$SOCK"
cfg_sum=$(cat "$CONTAINERS_CONF" "$CONTAINERS_STORAGE_CONF" "$CONTAINERS_REGISTRIES_CONF" | sha256sum | cut -c1-16)
pid=$(pid_is "$PODMAN_PID" "system service" || true)
if [[ -n $pid && "$(cat "$STATE/podman.cfgsum" 2>/dev/null)" != "$cfg_sum" ]]; then
    log "configuration changed: restarting the service (pid $pid)"
    stop_pid "$pid"
    pid=""
fi
if [[ -n $pid ]]; then
    for ((i = 0; i < WAIT_SECONDS * 5; i++)); do
        probe "unix://$SOCK" && break
        sleep 0.2
    done
    if probe "unix://$SOCK"; then
        service_result="already running (pid $pid)"
    else
        log "pid $pid does not answer on $SOCK: restarting it"
        stop_pid "$pid"
        pid=""
    fi
fi
if [[ -z $pid ]]; then
    rm -f "$SOCK"
    # setsid+nohup: survives the calling shell; fd 9 (our lock) is not inherited
    setsid nohup podman system service --time=0 "unix://$SOCK" \
        </dev/null >>"$LOG_DIR/podman.log" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$PODMAN_PID"
    echo "$cfg_sum" >"$STATE/podman.cfgsum"
    for ((i = 0; i < WAIT_SECONDS * 5; i++)); do
        probe "unix://$SOCK" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if ! probe "unix://$SOCK"; then
        tail -n 30 "$LOG_DIR/podman.log" >&2
        kill -0 "$pid" 2>/dev/null && stop_pid "$pid"
        rm -f "$PODMAN_PID"
        die "podman service did not answer on $SOCK within ${WAIT_SECONDS}s (log: $LOG_DIR/podman.log)"
    fi
    service_result="started (pid $pid, log $LOG_DIR/podman.log)"
fi
phase_done "$service_result"

# ------------------------------------------------------------ 5. registry ---
phase registry "docker-registry on 127.0.0.1:$REGISTRY_PORT"
REG_CONF="$REG_DIR/config.yml"
REG_URL="http://127.0.0.1:$REGISTRY_PORT/v2/"
mkdir -p "$REG_DIR/data"
reg_changed=0
write_if_changed "$REG_CONF" "# written by tools/container-engine/setup.sh
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: $REG_DIR/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
  # single instance on loopback: a fixed secret only silences a warning
  secret: zen-local-registry" && reg_changed=1
pid=$(pid_is "$REGISTRY_PID" "docker-registry serve" || true)
if [[ -n $pid ]] && ((reg_changed)); then
    log "registry config changed: restarting (pid $pid)"
    stop_pid "$pid"
    pid=""
fi
if [[ -n $pid ]] && probe "$REG_URL"; then
    registry_result="already running (pid $pid)"
else
    [[ -n $pid ]] && stop_pid "$pid"
    if probe "$REG_URL" || (exec 3<>"/dev/tcp/127.0.0.1/$REGISTRY_PORT") 2>/dev/null; then
        die "127.0.0.1:$REGISTRY_PORT is taken by another process; set ZEN_REGISTRY_PORT"
    fi
    setsid nohup docker-registry serve "$REG_CONF" \
        </dev/null >>"$LOG_DIR/registry.log" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$REGISTRY_PID"
    for ((i = 0; i < WAIT_SECONDS * 5; i++)); do
        probe "$REG_URL" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    if ! probe "$REG_URL"; then
        tail -n 30 "$LOG_DIR/registry.log" >&2
        kill -0 "$pid" 2>/dev/null && stop_pid "$pid"
        rm -f "$REGISTRY_PID"
        die "registry did not answer $REG_URL within ${WAIT_SECONDS}s (log: $LOG_DIR/registry.log)"
    fi
    registry_result="started (pid $pid, log $LOG_DIR/registry.log)"
fi
phase_done "$registry_result"

# ---------------------------------------------------------------- 6. env ---
env_lines=$(
    printf 'export DOCKER_HOST=%q\n' "unix://$SOCK"
    printf 'export ZEN_TEST_REGISTRY=%q\n' "127.0.0.1:$REGISTRY_PORT"
    printf 'export CONTAINERS_CONF=%q\n' "$CONTAINERS_CONF"
    printf 'export CONTAINERS_STORAGE_CONF=%q\n' "$CONTAINERS_STORAGE_CONF"
    printf 'export CONTAINERS_REGISTRIES_CONF=%q\n' "$CONTAINERS_REGISTRIES_CONF"
)
write_if_changed "$STATE/env.sh" "# written by tools/container-engine/setup.sh; source it
$env_lines" || true
log "ready in $(fmt_s $(($(now_us) - SCRIPT_T0))); env: source $STATE/env.sh"
printf '%s\n' "$env_lines"
