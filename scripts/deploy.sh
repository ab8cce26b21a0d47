#!/usr/bin/env bash
# Deploys inferline to Kubernetes from deploy/kubernetes/overlays/<overlay>, in order:
#   1. checks prerequisites: kubectl (1.27+, with kustomize), a reachable cluster, the KEDA CRDs
#      (and the Prometheus Operator's where the overlay has monitoring objects), the Secrets the
#      manifests reference (deploy/kubernetes/make-secrets.sh makes them);
#   2. creates the namespace (Pod Security "restricted");
#   3. applies configuration, network policies and disruption budgets, before any pod exists;
#   4. dev: starts RabbitMQ, PostgreSQL and Redis and waits until they are ready;
#   5. runs the migration Job (the previous run's Job is replaced) and waits for it to complete;
#   6. applies the Services and Deployments and waits for every rollout;
#   7. applies the autoscalers (KEDA reads the queue with the RabbitMQ URL and the gateway's
#      /v1/admin/scaling with the admin key, both from the Secret inferline-secrets);
#   8. applies the monitoring objects (ServiceMonitor, PrometheusRule, dashboard).
# Idempotent: run it again after any change (or with a new --image); it converges.
#
# Usage: scripts/deploy.sh [--overlay dev|prod|upstream] [--image REPO:TAG] [--context CTX]
#                          [--timeout DURATION] [--dry-run | --render]
#   --dry-run  lists the objects in apply order, and the steps between them, without a cluster
#   --render   prints the rendered objects (YAML) in apply order, without a cluster
# Environment: KUBECTL (default: kubectl on PATH, else deploy/tools/bin/kubectl).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
overlay=dev
image=""
context=()
timeout=600s
mode=deploy
usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "deploy.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --overlay) overlay=${2:?--overlay needs a value}; shift ;;
    --image) image=${2:?--image needs REPO:TAG}; shift ;;
    --context) context=(--context "${2:?--context needs a value}"); shift ;;
    --timeout) timeout=${2:?--timeout needs a duration such as 600s}; shift ;;
    --dry-run) mode=dry-run ;;
    --render) mode=render ;;
    -h|--help) usage 0 ;;
    *) echo "deploy.sh: unknown argument '$1'" >&2; usage 2 ;;
  esac
  shift
done
overlay_dir=$root/deploy/kubernetes/overlays/$overlay
[ -f "$overlay_dir/kustomization.yaml" ] ||
  die "no overlay '$overlay' (have: $(ls "$root/deploy/kubernetes/overlays" | tr '\n' ' '))"
if [ -n "$image" ] && ! [[ "$image" =~ ^[a-z0-9./_:-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$ ]]; then
  die "--image must look like REPO:TAG or REPO@sha256:DIGEST, got '$image'"
fi

kubectl_bin=${KUBECTL:-}
if [ -z "$kubectl_bin" ]; then
  if command -v kubectl >/dev/null; then kubectl_bin=kubectl
  elif [ -x "$root/deploy/tools/bin/kubectl" ]; then kubectl_bin=$root/deploy/tools/bin/kubectl
  else die "kubectl not found: install kubectl 1.27 or newer, or run deploy/tools/install.sh"
  fi
fi
k() { "$kubectl_bin" "${context[@]}" "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- Render (offline). --image goes through a kustomization that wraps the overlay.
render_dir=$overlay_dir
if [ -n "$image" ]; then
  render_dir=$work/kustomize
  mkdir -p "$render_dir"
  if [[ "$image" == *@sha256:* ]]; then
    ref=(newName "${image%@*}" digest "${image#*@}")
  else
    ref=(newName "${image%:*}" newTag "${image##*:}")
  fi
  cat >"$render_dir/kustomization.yaml" <<EOF
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$render_dir" "$overlay_dir")
images:
  - name: inferline
    ${ref[0]}: "${ref[1]}"
    ${ref[2]}: "${ref[3]}"
EOF
fi
"$kubectl_bin" kustomize "$render_dir" >"$work/all.yaml" || die "kubectl kustomize $overlay_dir failed"

# --- Split into phases by kind (kustomize prints one object per document, kind at column 0).
phase_of() {  # <kind> <name>
  case "$1" in
    Namespace) echo 1-namespace ;;
    ServiceAccount|ConfigMap|NetworkPolicy|PodDisruptionBudget|Role|RoleBinding) echo 2-config ;;
    StatefulSet) echo 3-data ;;
    Service) case "$2" in rabbitmq|postgres|redis) echo 3-data ;; *) echo 5-apps ;; esac ;;
    Job) echo 4-migrate ;;
    Deployment) echo 5-apps ;;
    TriggerAuthentication|ScaledObject|HorizontalPodAutoscaler) echo 6-scaling ;;
    ServiceMonitor|PodMonitor|PrometheusRule) echo 7-monitoring ;;
    *) echo 5-apps ;;
  esac
}
mkdir -p "$work/docs"
awk -v dir="$work/docs" '
  function flush() { if (doc != "") { n++; f = sprintf("%s/%04d", dir, n); printf "%s", doc > f; close(f) } doc = "" }
  /^---$/ { flush(); next }
  { doc = doc $0 "\n" }
  END { flush() }' "$work/all.yaml"
: >"$work/index"
for f in "$work"/docs/*; do
  kind=$(sed -n 's/^kind: //p' "$f" | head -1)
  name=$(awk '/^metadata:/{m=1; next} m && /^  name: /{print $2; exit} /^[^ ]/{m=0}' "$f")
  echo "$(phase_of "$kind" "$name") $kind $name $f" >>"$work/index"
done
sort -s -k1,1 "$work/index" >"$work/ordered"
phase_file() {  # <phase> -> one YAML file with that phase's objects
  local out=$work/phase-$1.yaml
  : >"$out"
  while read -r ph _ _ f; do
    [ "$ph" = "$1" ] && { echo "---"; cat "$f"; } >>"$out"
  done <"$work/ordered"
  echo "$out"
}
has_phase() { grep -q "^$1 " "$work/ordered"; }
names_of() { awk -v p="$1" -v k="$2" '$1 == p && $2 == k {print $3}' "$work/ordered"; }
namespace=$(awk '$2 == "Namespace" {print $3; exit}' "$work/ordered")
[ -n "$namespace" ] || die "the overlay renders no Namespace"

if [ "$mode" = render ]; then
  while read -r _ _ _ f; do echo "---"; cat "$f"; done <"$work/ordered"
  exit 0
fi

# Steps, in order; dry-run prints them, deploy runs them.
step() { echo "# $*"; }
if [ "$mode" = dry-run ]; then
  echo "# deploy.sh --dry-run: overlay $overlay, namespace $namespace, $(wc -l <"$work/ordered") objects"
  last=""
  while read -r ph kind name _; do
    if [ "$ph" != "$last" ]; then
      [ "$ph" = 4-migrate ] && step "delete job/inferline-migrate from an earlier deploy (if any)"
      last=$ph
    fi
    echo "apply $ph $kind/$name"
    case "$kind" in
      StatefulSet) step "wait rollout statefulset/$name" ;;
      Job) step "wait complete job/$name" ;;
      Deployment) step "wait rollout deployment/$name" ;;
    esac
  done <"$work/ordered"
  exit 0
fi

# --- Prerequisites (cluster).
echo "deploy.sh: overlay $overlay -> namespace $namespace"
k version >/dev/null 2>&1 || die "cannot reach the cluster ($kubectl_bin version failed; check --context)"
for crd in scaledobjects.keda.sh triggerauthentications.keda.sh; do
  k get crd "$crd" >/dev/null 2>&1 ||
    die "KEDA is not installed (no CRD $crd): helm install keda kedacore/keda -n keda --create-namespace"
done
if has_phase 7-monitoring; then
  for crd in servicemonitors.monitoring.coreos.com prometheusrules.monitoring.coreos.com; do
    k get crd "$crd" >/dev/null 2>&1 ||
      die "the Prometheus Operator is not installed (no CRD $crd): install kube-prometheus-stack"
  done
fi
k apply --server-side --field-manager=inferline-deploy -f "$(phase_file 1-namespace)"
# Secrets the manifests read (make-secrets.sh makes them).
needed=$(grep -h -A2 -E 'secretKeyRef:|secretTargetRef:' "$work/all.yaml" | sed -n 's/^ *-\{0,1\} *name: //p' |
         sort -u)
for s in $needed; do
  k -n "$namespace" get secret "$s" >/dev/null 2>&1 ||
    die "Secret $s is missing in $namespace: deploy/kubernetes/make-secrets.sh --help"
done

apply_phase() {
  has_phase "$1" || return 0
  k apply --server-side --field-manager=inferline-deploy -f "$(phase_file "$1")"
}
apply_phase 2-config
apply_phase 3-data
for s in $(names_of 3-data StatefulSet); do
  k -n "$namespace" rollout status "statefulset/$s" --timeout="$timeout"
done
if has_phase 4-migrate; then
  k -n "$namespace" delete job inferline-migrate --ignore-not-found --wait=true
  apply_phase 4-migrate
  if ! k -n "$namespace" wait --for=condition=complete job/inferline-migrate --timeout="$timeout"; then
    k -n "$namespace" logs job/inferline-migrate --tail=50 || true
    die "the migration Job did not complete"
  fi
fi
apply_phase 5-apps
for d in $(names_of 5-apps Deployment); do
  k -n "$namespace" rollout status "deployment/$d" --timeout="$timeout"
done
apply_phase 6-scaling
apply_phase 7-monitoring
k -n "$namespace" get deployments,statefulsets,scaledobjects,hpa 2>/dev/null || true
echo "deploy.sh: done (overlay $overlay, namespace $namespace)"
