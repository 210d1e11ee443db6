#!/usr/bin/env bash
# Prove the running cluster runs pods: a Job in the locally made busybox image
# must Complete, and its logs are read back through the API (apiserver ->
# kubelet).  Run after up.sh.  Exit 0 on success.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"

K=("$K8S_BIN/kubectl" --kubeconfig "$STATE/kubeconfig")
NS=default
JOB="zen-smoke-$(date +%s)"
TIMEOUT="${ZEN_K8S_SMOKE_TIMEOUT:-120}"

"${K[@]}" apply -f - <<EOF
apiVersion: batch/v1
kind: Job
metadata:
  name: $JOB
  namespace: $NS
spec:
  backoffLimit: 0
  ttlSecondsAfterFinished: 600
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: $BUSYBOX_IMAGE
        imagePullPolicy: Never
        command: ["sh", "-c", "echo hello from zen job; uname -a; id; hostname; ip -4 addr show eth0 | grep inet; echo sum=\$((20 + 22))"]
EOF
t0=$SECONDS
if ! "${K[@]}" wait -n "$NS" --for=condition=Complete "job/$JOB" --timeout="${TIMEOUT}s"; then
  "${K[@]}" describe -n "$NS" "job/$JOB" >&2 || true
  "${K[@]}" describe -n "$NS" pods -l "job-name=$JOB" >&2 || true
  die "job $JOB did not complete within ${TIMEOUT}s"
fi
log "job $JOB Complete after $((SECONDS - t0))s"
"${K[@]}" get -n "$NS" "job/$JOB" -o wide
"${K[@]}" get -n "$NS" pods -l "job-name=$JOB" -o wide
echo "--- logs (through the API) ---"
out="$("${K[@]}" logs -n "$NS" "job/$JOB")"
echo "$out"
grep -q '^sum=42$' <<<"$out" || die "unexpected job output"
log "smoke test passed"
