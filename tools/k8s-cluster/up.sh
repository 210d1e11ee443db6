#!/usr/bin/env bash
# Bring up zen's one-node Kubernetes cluster on this machine (idempotent).
#   etcd, containerd (own config/root/state/socket), kube-apiserver,
#   kube-controller-manager, kube-scheduler, kubelet — all on 127.0.0.1,
#   PID files and logs under $STATE (default ~/.cache/zen/k8s/state).
# Prints `export KUBECONFIG=$STATE/kubeconfig` on stdout at the end
# (so `eval "$(tools/k8s-cluster/up.sh)"` works); progress goes to stderr.
# Env: ZEN_K8S_HOME, ZEN_K8S_STATE, ZEN_K8S_VERSION, ZEN_K8S_UP_TIMEOUT (s, 300),
#      ZEN_K8S_APISERVER_PORT (6443), ZEN_K8S_ETCD_PORT (12379; peer = +1),
#      ZEN_K8S_NODE_NAME (127.0.0.1), ZEN_K8S_POD_SUBNET (10.88.0.0/24).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root (containerd, kubelet, mounts, cgroups)"

UP_TIMEOUT="${ZEN_K8S_UP_TIMEOUT:-300}"
API_PORT="${ZEN_K8S_APISERVER_PORT:-6443}"
ETCD_PORT="${ZEN_K8S_ETCD_PORT:-12379}"
ETCD_PEER_PORT=$((ETCD_PORT + 1))
# The kubelet refuses a loopback node IP ("nodeIP can't be loopback address"),
# so the node keeps the machine's own InternalIP; the apiserver reaches the
# kubelet (logs/exec) through the node's Hostname address instead, which is the
# node name: naming the node 127.0.0.1 keeps the kubelet on loopback only.
NODE_NAME="${ZEN_K8S_NODE_NAME:-127.0.0.1}"
POD_SUBNET="${ZEN_K8S_POD_SUBNET:-10.88.0.0/24}"
SERVICE_CIDR="${ZEN_K8S_SERVICE_CIDR:-10.96.0.0/16}"
SERVICE_IP="${ZEN_K8S_SERVICE_IP:-10.96.0.1}"
CNI_BRIDGE=zen0
CNI_BIN_DIR=/usr/lib/cni

PKI="$STATE/pki"; LOGS="$STATE/logs"; PIDS="$STATE/pids"; CONF="$STATE/conf"
t_start=$SECONDS

# --- 1. packages and binaries ----------------------------------------------
need_pkgs=()
for p in etcd-server containerd runc containernetworking-plugins iptables busybox-static openssl curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "apt-get install ${need_pkgs[*]}"
  # Debian's packages would try to start their own etcd/containerd service: the
  # policy-rc.d of container-like machines forbids that; we run our own anyway.
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >&2; then
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >&2
  fi
fi
"$HERE/build.sh"

mkdir -p "$PKI" "$LOGS" "$PIDS" "$CONF" "$STATE/etcd" "$STATE/containerd/root" \
  "$STATE/containerd/state" "$STATE/containerd/opt" "$STATE/run/containerd" \
  "$STATE/cni/net.d" "$STATE/cni/ipam" "$STATE/kubelet" "$STATE/pod-logs" "$STATE/images"
chmod 700 "$PKI" "$STATE/etcd"

# --- 2. certificates (openssl) and kubeconfigs ----------------------------
if [ ! -f "$PKI/ca.crt" ]; then
  log "generating CA and certificates in $PKI"
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=zen-k8s-ca" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out "$PKI/ca.crt"
fi
# The front-proxy (request-header) CA: without it the controller-manager and
# scheduler log "missing content for CA bundle ... requestheader-client-ca-file"
# every few seconds, and aggregated APIs (metrics-server) cannot authenticate.
if [ ! -f "$PKI/front-proxy-ca.crt" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/front-proxy-ca.key" 2>/dev/null
  openssl req -x509 -new -key "$PKI/front-proxy-ca.key" -subj "/CN=zen-k8s-front-proxy-ca" -days 3650 \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" -out "$PKI/front-proxy-ca.crt"
fi
# gen_cert NAME SUBJECT EKU [SAN] [CA]
gen_cert() {
  local name="$1" subj="$2" eku="$3" san="${4:-}" ca="${5:-ca}"
  [ -f "$PKI/$name.crt" ] && return 0
  openssl ecparam -name prime256v1 -genkey -noout -out "$PKI/$name.key" 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -n "$san" ] && echo "subjectAltName=$san"
  } >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
    -CAcreateserial -days 3650 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}
gen_cert apiserver "/CN=kube-apiserver" serverAuth \
  "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:$SERVICE_IP"
gen_cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
gen_cert admin "/O=system:masters/CN=zen-admin" clientAuth
gen_cert controller-manager "/CN=system:kube-controller-manager" clientAuth
gen_cert scheduler "/CN=system:kube-scheduler" clientAuth
gen_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
gen_cert kubelet-serving "/CN=$NODE_NAME" serverAuth "IP:127.0.0.1,DNS:localhost"
gen_cert front-proxy-client "/CN=front-proxy-client" clientAuth "" front-proxy-ca
if [ ! -f "$PKI/sa.key" ]; then
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
fi

# make_kubeconfig OUT CERTNAME
make_kubeconfig() {
  local out="$1" cert="$2"
  cat >"$out.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: zen
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $cert
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$cert.crt")
    client-key-data: $(base64 -w0 "$PKI/$cert.key")
contexts:
- name: zen
  context:
    cluster: zen
    user: $cert
current-context: zen
EOF
  chmod 600 "$out.tmp" && mv -f "$out.tmp" "$out"
}
for c in admin controller-manager scheduler kubelet; do make_kubeconfig "$CONF/$c.kubeconfig" "$c"; done

# --- process helpers ---------------------------------------------------------
# running NAME: true when $PIDS/NAME.pid names a live process of that binary.
running() {
  local pidf="$PIDS/$1.pid" pid
  [ -f "$pidf" ] || return 1
  pid="$(cat "$pidf")"
  [ -n "$pid" ] && [ -d "/proc/$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2"
}
# start NAME BINARY ARGS...: own session (survives the calling shell), log, pid file.
start() {
  local name="$1"; shift
  if running "$name" "$1"; then log "$name already running (pid $(cat "$PIDS/$name.pid"))"; return 0; fi
  log "starting $name (log: $LOGS/$name.log)"
  echo "=== $(date -Is) $*" >>"$LOGS/$name.log"
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}
# wait_for WHAT TIMEOUT CMD...: poll CMD every second.
wait_for() {
  local what="$1" timeout="$2" t0=$SECONDS; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $((SECONDS - t0)) -ge "$timeout" ]; then die "timed out after ${timeout}s waiting for $what (logs: $LOGS)"; fi
    sleep 1
  done
  log "$what ready after $((SECONDS - t0))s"
}
alive_or_die() { running "$1" "$2" || { tail -n 30 "$LOGS/$1.log" >&2; die "$1 exited (log: $LOGS/$1.log)"; }; }

# --- 3. etcd -------------------------------------------------------------------
start etcd /usr/bin/etcd --name zen --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "zen=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
  --quota-backend-bytes 2147483648 --auto-compaction-retention 1h
wait_for etcd 60 curl -sf "http://127.0.0.1:$ETCD_PORT/health"

# --- 4. containerd -------------------------------------------------------------
cat >"$CONF/containerd.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
[grpc]
  address = "$CONTAINERD_SOCK"
[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  # This machine's root lacks CAP_SYS_RESOURCE, so runc cannot lower
  # oom_score_adj (the sandbox asks for -998): "nsexec: failed to update
  # /proc/self/oom_score_adj: Permission denied" -> "can't get final child's
  # PID from pipe: EOF".  Clamp it to containerd's own value instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$STATE/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$STATE/containerd/certs.d"
EOF
# A local plain-HTTP registry on 127.0.0.1:5000 (e.g. Debian's docker-registry).
for host in 127.0.0.1:5000 localhost:5000; do
  mkdir -p "$STATE/containerd/certs.d/$host"
  cat >"$STATE/containerd/certs.d/$host/hosts.toml" <<EOF
server = "http://$host"
[host."http://$host"]
  capabilities = ["pull", "resolve", "push"]
  skip_verify = true
EOF
done
cat >"$STATE/cni/net.d/10-zen.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "zen",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_SUBNET"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$STATE/cni/ipam"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF
# Pods reach beyond the node only through the bridge's masquerade.
[ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || sysctl -qw net.ipv4.ip_forward=1 || true
start containerd /usr/bin/containerd --config "$CONF/containerd.toml"
wait_for containerd 60 ctr --address "$CONTAINERD_SOCK" version
alive_or_die containerd containerd

# --- 5. local images: pause (sandbox) and a busybox for smoke tests -----------
import_once() { # import_once IMAGE TAR
  if ctr_ images ls -q | grep -qx "$1"; then return 0; fi
  log "importing $1 into containerd"
  ctr_ images import "$2" >&2
}
if [ ! -f "$STATE/images/pause.tar" ]; then
  r="$(mktemp -d)"; cp "$K8S_BIN/pause" "$r/pause"
  make_image_tar "$PAUSE_IMAGE" "$r" "$STATE/images/pause.tar" '["/pause"]'
  rm -rf "$r"
fi
if [ ! -f "$STATE/images/busybox.tar" ]; then
  r="$(mktemp -d)"; mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root"; chmod 1777 "$r/tmp"
  cp /bin/busybox "$r/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$r/etc/group"
  make_image_tar "$BUSYBOX_IMAGE" "$r" "$STATE/images/busybox.tar" 'null' '["sh"]'
  rm -rf "$r"
fi
import_once "$PAUSE_IMAGE" "$STATE/images/pause.tar"
import_once "$BUSYBOX_IMAGE" "$STATE/images/busybox.tar"

# --- 6. control plane ------------------------------------------------------------
start kube-apiserver "$K8S_BIN/kube-apiserver" \
  --bind-address=127.0.0.1 --secure-port="$API_PORT" --advertise-address=127.0.0.1 \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=Hostname,InternalIP \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range="$SERVICE_CIDR" --endpoint-reconciler-type=none \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true --profiling=false --v=1
wait_for kube-apiserver "$UP_TIMEOUT" curl -sf --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
  "https://127.0.0.1:$API_PORT/readyz"

start kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --bind-address=127.0.0.1 --kubeconfig="$CONF/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$CONF/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$CONF/controller-manager.kubeconfig" \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --use-service-account-credentials=true --leader-elect=false --profiling=false --v=1
start kube-scheduler "$K8S_BIN/kube-scheduler" \
  --bind-address=127.0.0.1 --kubeconfig="$CONF/scheduler.kubeconfig" \
  --authentication-kubeconfig="$CONF/scheduler.kubeconfig" \
  --authorization-kubeconfig="$CONF/scheduler.kubeconfig" \
  --leader-elect=false --profiling=false --v=1

# --- 7. kubelet ---------------------------------------------------------------------
cat >"$CONF/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
podLogsDir: $STATE/pod-logs
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
# Images here are made locally and cannot be pulled again: never GC them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 2%
  imagefs.available: 2%
serializeImagePulls: false
EOF
start kubelet "$K8S_BIN/kubelet" \
  --config="$CONF/kubelet.yaml" --kubeconfig="$CONF/kubelet.kubeconfig" \
  --root-dir="$STATE/kubelet" --cert-dir="$STATE/kubelet/pki" \
  --hostname-override="$NODE_NAME" --v=1

KUBECTL=("$K8S_BIN/kubectl" --kubeconfig "$CONF/admin.kubeconfig")
node_ready() {
  [ "$("${KUBECTL[@]}" get node "$NODE_NAME" \
    -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
t0=$SECONDS
until node_ready; do
  for p in etcd:etcd containerd:containerd kube-apiserver:kube-apiserver \
           kube-controller-manager:kube-controller-manager kube-scheduler:kube-scheduler kubelet:kubelet; do
    alive_or_die "${p%%:*}" "${p#*:}"
  done
  [ $((SECONDS - t0)) -lt "$UP_TIMEOUT" ] || die "node $NODE_NAME not Ready after ${UP_TIMEOUT}s (see $LOGS/kubelet.log, $LOGS/containerd.log)"
  sleep 2
done
log "node $NODE_NAME Ready after $((SECONDS - t0))s"
# The default ServiceAccount must exist before pods can be created.
wait_for "default service account" 60 "${KUBECTL[@]}" get serviceaccount default -n default

cp -f "$CONF/admin.kubeconfig" "$STATE/kubeconfig"
log "cluster up in $((SECONDS - t_start))s; logs in $LOGS"
echo "export KUBECONFIG=$STATE/kubeconfig"
echo "export PATH=$K8S_BIN:\$PATH"
