#!/usr/bin/env bash
# Build the Kubernetes binaries zen's one-node cluster needs, from the official
# k8s.io/kubernetes Go module, into a per-version cache outside the checkout:
#   ${ZEN_K8S_HOME:-$HOME/.cache/zen/k8s}/bin/<version>/
# kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl + pause
# Idempotent: a binary that is already in the cache is not rebuilt.
# Env: ZEN_K8S_VERSION (default in lib.sh), ZEN_K8S_HOME, ZEN_K8S_NICE (15).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

NICE="${ZEN_K8S_NICE:-15}"
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
# Small helpers built from this build module: pause (the pod sandbox program)
# and cri (a tiny CRI client, since Debian 12 has no crictl): see below.
EXTRA=(pause cri)

missing=()
for b in "${BINARIES[@]}" "${EXTRA[@]}"; do
  [ -x "$K8S_BIN/$b" ] || missing+=("$b")
done
if [ ${#missing[@]} -eq 0 ]; then
  log "all binaries for $K8S_VERSION already in $K8S_BIN (nothing to build)"
  exit 0
fi
log "to build for $K8S_VERSION: ${missing[*]}"

command -v go >/dev/null || die "go not found (expected /usr/local/go/bin/go)"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="${GOFLAGS:--buildvcs=false}"
mkdir -p "$K8S_BUILD" "$K8S_BIN"
cd "$K8S_BUILD"

# --- the build module -------------------------------------------------------
# Requires k8s.io/kubernetes and replaces each staging repo (which the
# kubernetes go.mod maps to ./staging/src/..., ignored for a dependency) by its
# published v0.Y.Z module.
if [ ! -f go.mod ] || ! grep -q "k8s.io/kubernetes $K8S_VERSION" go.mod; then
  log "fetching k8s.io/kubernetes@$K8S_VERSION go.mod from the module proxy"
  gomod="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@$K8S_VERSION"
  staging="$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$gomod")"
  [ -n "$staging" ] || die "no staging replaces found in $gomod"
  {
    echo "module zen.local/k8sbuild"
    echo
    echo "go 1.24.0"
    echo
    echo "godebug default=go1.24"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    for m in $staging; do echo "	$m => $m $K8S_STAGING_VERSION"; done
    echo ")"
  } >go.mod
  rm -f go.sum
fi

# A minimal pod-sandbox ("pause") program: sleeps until SIGINT/SIGTERM and
# reaps children (it is PID 1 of the pod's shared namespaces).
mkdir -p pause
cat >pause/main.go <<'EOF'
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s == syscall.SIGCHLD {
			for {
				var ws syscall.WaitStatus
				if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
EOF

# cri: a minimal CRI client (Debian 12 ships no crictl, and sigs.k8s.io/cri-tools
# is not served by the module proxy).  `cri SOCK pods|ps|rmp`: rmp stops and
# removes every pod sandbox, which tears down its network namespace, CNI IP and
# /dev/shm mount: down.sh uses it before stopping containerd.
mkdir -p cri
cat >cri/main.go <<'EOF'
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: cri SOCKET pods|ps|rmp")
		os.Exit(2)
	}
	conn, err := grpc.NewClient("unix://"+os.Args[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	c := runtimeapi.NewRuntimeServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	switch os.Args[2] {
	case "pods", "rmp":
		r, err := c.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		failed := false
		for _, p := range r.Items {
			fmt.Printf("%s\t%s/%s\t%s\n", p.Id[:13], p.Metadata.Namespace, p.Metadata.Name, p.State)
			if os.Args[2] != "rmp" {
				continue
			}
			if _, err := c.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: p.Id}); err != nil {
				fmt.Fprintln(os.Stderr, "stop", p.Id, err)
				failed = true
			}
			if _, err := c.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
				fmt.Fprintln(os.Stderr, "remove", p.Id, err)
				failed = true
			}
		}
		if failed {
			os.Exit(1)
		}
	case "ps":
		r, err := c.ListContainers(ctx, &runtimeapi.ListContainersRequest{})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for _, k := range r.Containers {
			fmt.Printf("%s\t%s\t%s\t%s\n", k.Id[:13], k.Metadata.Name, k.Image.Image, k.State)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown command", os.Args[2])
		os.Exit(2)
	}
}
EOF

major="${K8S_VERSION#v}"; major="${major%%.*}"
minor="${K8S_VERSION#v*.}"; minor="${minor%%.*}"
ldx=""
for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  ldx+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
  ldx+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
LDFLAGS="-s -w$ldx"

total_start=$SECONDS
for b in "${missing[@]}"; do
  case "$b" in pause|cri) pkg="./$b" ;; *) pkg="k8s.io/kubernetes/cmd/$b" ;; esac
  log "building $b ($pkg) ..."
  t0=$SECONDS
  # -mod=mod: lets the first build resolve the module graph and write go.sum.
  nice -n "$NICE" go build -mod=mod -trimpath -ldflags "$LDFLAGS" -o "$K8S_BIN/.$b.tmp" "$pkg"
  mv -f "$K8S_BIN/.$b.tmp" "$K8S_BIN/$b"
  log "built $b in $((SECONDS - t0))s ($(du -h "$K8S_BIN/$b" | cut -f1))"
done
log "done: ${missing[*]} in $((SECONDS - total_start))s -> $K8S_BIN"
"$K8S_BIN/kubelet" --version >&2 || true
