#!/usr/bin/env bash
# scripts/deploy.sh against a stand-in kubectl that records every call (renders go to the real
# kubectl from deploy/tools): the steps come in order (namespace, config, data services and
# their rollouts, migration Job replaced and awaited, Deployments and rollouts, autoscalers,
# monitoring), a second run applies the same again, and missing prerequisites stop it with a
# message that names them.
# Usage: deploy_script_test.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

tools=$("$root/deploy/tools/install.sh") || { echo "FAIL: deploy/tools/install.sh"; exit 1; }
state=$work/state
mkdir -p "$state/secrets"
# The stand-in: `kustomize` is real; `apply -f FILE` logs the kinds/names it applies; `get secret`
# answers from $state/secrets; the rest succeeds and logs.
cat >"$work/kubectl" <<EOF
#!/usr/bin/env bash
state=$state
real=$tools/kubectl
EOF
cat >>"$work/kubectl" <<'EOF'
[ "$1" = kustomize ] && exec "$real" "$@"
args=("$@")
while [ $# -gt 0 ] && [[ "$1" == -* ]]; do shift 2; done  # -n NS, --context CTX
case "$1" in
  version) [ -f "$state/no-cluster" ] && exit 1; exit 0 ;;
  get)
    if [ "$2" = crd ]; then [ -f "$state/no-keda" ] && [[ "$3" == *keda.sh ]] && exit 1; exit 0; fi
    if [ "$2" = secret ]; then [ -f "$state/secrets/$3" ] && exit 0; exit 1; fi
    exit 0 ;;
  apply)
    file=${args[-1]}
    awk '/^kind: /{k=$2} /^metadata:/{m=1;next} m&&/^  name: /{print "apply " k "/" $2; m=0} /^[^ ]/{m=0}' "$file" >>"$state/log"
    exit 0 ;;
  *) echo "$*" >>"$state/log"; exit 0 ;;
esac
EOF
chmod +x "$work/kubectl"
deploy() { KUBECTL=$work/kubectl "$root/scripts/deploy.sh" "$@"; }
for s in inferline-secrets inferline-dev-data; do touch "$state/secrets/$s"; done

# --- First run of the dev overlay.
if deploy --overlay dev >"$work/out" 2>&1; then pass "deploy.sh --overlay dev ran"; else
  fail "deploy.sh --overlay dev: $(tail -5 "$work/out")"; fi
log=$state/log
pos() { grep -n -F -- "$1" "$log" | head -1 | cut -d: -f1; }
check_order() {  # <description> <first> <second>
  local a b
  a=$(pos "$2"); b=$(pos "$3")
  if [ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ]; then pass "$1"; else fail "$1 ($2 at ${a:-none}, $3 at ${b:-none})"; fi
}
[ "$(head -1 "$log")" = "apply Namespace/inferline" ] && pass "the namespace comes first" || fail "first step: $(head -1 "$log")"
check_order "network policies before any pod" "apply NetworkPolicy/inferline-default-deny" "apply StatefulSet/postgres"
check_order "data services ready before the migration" "rollout status statefulset/postgres" "apply Job/inferline-migrate"
check_order "the previous migration Job is deleted first" "delete job inferline-migrate" "apply Job/inferline-migrate"
check_order "the migration completes before the Deployments" "wait --for=condition=complete job/inferline-migrate" "apply Deployment/inferline-gateway"
check_order "rollouts before the autoscalers" "rollout status deployment/inferline-gateway" "apply ScaledObject/inferline-worker"
for d in inferline-gateway inferline-worker inferline-collector; do
  grep -q "rollout status deployment/$d" "$log" && pass "waits for $d" || fail "no rollout wait for $d"
done
[ "$(grep -c '^apply ' "$log")" -eq "$("$tools/kubectl" kustomize "$root/deploy/kubernetes/overlays/dev" | grep -c '^kind: ')" ] &&
  pass "every rendered object is applied once" || fail "applied $(grep -c '^apply ' "$log") objects"

# --- Second run: the same steps again (apply converges; the Job is replaced).
cp "$log" "$work/first"
: >"$log"
deploy --overlay dev >"$work/out" 2>&1 || fail "second run: $(tail -5 "$work/out")"
cmp -s "$log" "$work/first" && pass "a second run takes the same steps" || fail "second run differs: $(diff "$work/first" "$log" | head -5)"

# --- Missing prerequisites stop it, naming what is missing.
expect_stop() {  # <description> <expected text> <deploy args...>
  local what=$1 text=$2; shift 2
  : >"$log"
  if deploy "$@" >"$work/out" 2>&1; then fail "$what: deploy.sh succeeded"
  elif grep -qF -- "$text" "$work/out"; then pass "$what"
  else fail "$what: $(tail -3 "$work/out")"; fi
}
expect_stop "a missing Secret is named" "Secret inferline-upstream is missing" --overlay upstream
grep -q '^apply Deployment' "$log" && fail "applied Deployments despite a missing Secret" || pass "nothing deployed without the Secret"
touch "$state/no-keda"
expect_stop "KEDA missing is named" "KEDA is not installed" --overlay dev
rm "$state/no-keda"; touch "$state/no-cluster"
expect_stop "an unreachable cluster is named" "cannot reach the cluster" --overlay dev

[ $failures -eq 0 ] && echo "all passed" || { echo "$failures failed"; exit 1; }
