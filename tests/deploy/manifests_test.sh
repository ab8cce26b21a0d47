#!/usr/bin/env bash
# Offline checks of deploy/ (no cluster, no network once the npm tools are installed):
#   - every overlay renders with `kubectl kustomize` (kubectl 1.32 from deploy/tools), and every
#     rendered object validates strictly against its schema, KEDA's and the Prometheus Operator's
#     CRDs included, plus inferline's rules (deploy/tools/validate.mjs, policy.mjs), with the
#     Secrets that make-secrets.sh generates; the validator itself rejects known-bad input;
#   - each process's config file is accepted by the binary (`--print-config`);
#   - promtool accepts the alert rules, the Prometheus configuration and every dashboard query;
#     the PrometheusRule holds the same groups as the rule file;
#   - scripts/deploy.sh --dry-run lists every object in apply order, and --render prints them;
#   - make-secrets.sh refuses incomplete or malformed input.
# Usage: manifests_test.sh <path-to-inferline>
set -uo pipefail
bin=$(realpath "${1:?usage: $0 <inferline binary>}")
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

tools=$("$root/deploy/tools/install.sh") || { echo "FAIL: deploy/tools/install.sh"; exit 1; }
kubectl=$tools/kubectl
validate() { node "$root/deploy/tools/validate.mjs" "$@"; }
monitoring() { node "$root/deploy/tools/monitoring.mjs" "$@"; }
secrets=$work/secrets.yaml
"$root/deploy/kubernetes/make-secrets.sh" --dev --upstream-api-key random >"$secrets" ||
  fail "make-secrets.sh --dev"
secret_args=(--secrets "$secrets")

# --- Render and validate every overlay.
overlays=$(ls "$root/deploy/kubernetes/overlays")
[ "$(echo $overlays)" = "dev prod upstream" ] && pass "overlays: dev prod upstream" || fail "overlays: $overlays"
for o in $overlays; do
  out=$work/$o.yaml
  if ! "$kubectl" kustomize "$root/deploy/kubernetes/overlays/$o" >"$out" 2>"$work/err"; then
    fail "kubectl kustomize $o: $(cat "$work/err")"; continue
  fi
  n=$(grep -c '^kind: ' "$out")
  pass "$o renders ($n objects)"
  if validate "${secret_args[@]}" "$out" >"$work/v" 2>&1; then pass "$o: $(tail -1 "$work/v")"; else
    fail "$o does not validate:"; cat "$work/v"; fi
  for kind in ScaledObject TriggerAuthentication Deployment Job NetworkPolicy PodDisruptionBudget; do
    grep -q "^kind: $kind$" "$out" || fail "$o renders no $kind"
  done
done

# --- The validator fails on what it must catch (so a pass above means something).
cp "$work/prod.yaml" "$work/base-for-mutations.yaml"
expect_rejected() {  # <description> <sed expression> <expected text>
  sed "$2" "$work/base-for-mutations.yaml" >"$work/bad.yaml"
  if validate "${secret_args[@]}" "$work/bad.yaml" >"$work/v" 2>&1; then
    fail "validator accepted $1"
  elif grep -qF -- "$3" "$work/v"; then pass "validator rejects $1"
  else fail "validator rejected $1 without '$3': $(head -3 "$work/v")"; fi
}
expect_rejected "a misspelt field" 's/livenessProbe:/livenesProbe:/' "unknown field spec.template.spec.containers[0].livenesProbe"
expect_rejected "a wrong type in a KEDA ScaledObject" 's/cooldownPeriod: 300/cooldownPeriod: "300"/' "cooldownPeriod must be integer"
expect_rejected "a ScaledObject watching another model's queue" 's/inference_requests\.kjv-small/inference_requests.other/' "but the worker serves kjv-small"
expect_rejected "a gateway serving another model than its workers" '0,/^      name: kjv-small$/s//      name: other/' "serves model other, but Deployment/inferline-worker serves kjv-small"
expect_rejected "a missing Secret key" 's/key: redis-url/key: redis-uri/' "nothing provides"
expect_rejected "privilege escalation" '0,/allowPrivilegeEscalation: false/s//allowPrivilegeEscalation: true/' "allowPrivilegeEscalation must be false"
expect_rejected "an unknown kind" 's/^kind: PodDisruptionBudget$/kind: PodDisruptionBudgett/' "no schema for policy/v1 PodDisruptionBudgett"
printf -- '---\napiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: {a: b}\n' >>"$work/base-for-mutations.yaml"
expect_rejected "a Secret in the manifests" 's/^$//' "Secrets must not be rendered"

# --- Config files: every file is accepted by the binary.
for f in "$root"/deploy/kubernetes/base/config/*.yaml "$root"/deploy/kubernetes/overlays/*/config/*.yaml; do
  [ -f "$f" ] || continue
  rel=${f#"$root"/}
  component=$(basename "$f" .yaml)
  # The process's own subcommand checks its keys; while a build lacks it (exit 3, "not
  # available"), serve checks them: the files hold only keys that serve shares.
  cmd=$component
  out=$("$bin" "$cmd" --config "$f" --print-config 2>&1); rc=$?
  if [ $rc -eq 3 ] && grep -q "not available" <<<"$out"; then
    cmd=serve
    out=$("$bin" "$cmd" --config "$f" --print-config 2>&1); rc=$?
  fi
  if [ $rc -eq 0 ]; then pass "$rel accepted by inferline $cmd"; else fail "$rel rejected by inferline $cmd: $out"; fi
done

# --- Prometheus: rules, configuration, dashboard queries.
mon=$root/deploy/monitoring
promtool check rules "$mon/prometheus/inferline-alerts.yml" >"$work/p" 2>&1 && pass "promtool check rules" ||
  fail "promtool check rules: $(cat "$work/p")"
promtool check config "$mon/prometheus/prometheus.yml" >"$work/p" 2>&1 && pass "promtool check config" ||
  fail "promtool check config: $(cat "$work/p")"
monitoring rules-equal "$mon/prometheus/inferline-alerts.yml" "$mon/prometheus-rule.yaml" &&
  pass "PrometheusRule holds the rule file's groups" || fail "PrometheusRule and inferline-alerts.yml differ"
if monitoring dashboard-rules "$mon/grafana/inferline-dashboard.json" >"$work/dash.yml" &&
   promtool check rules "$work/dash.yml" >"$work/p" 2>&1; then
  pass "every dashboard query parses ($(grep -c 'record:' "$work/dash.yml") queries)"
else fail "dashboard queries: $(cat "$work/p")"; fi

# --- deploy.sh without a cluster.
for o in $overlays; do
  if ! KUBECTL=$kubectl "$root/scripts/deploy.sh" --overlay "$o" --dry-run >"$work/dry" 2>&1; then
    fail "deploy.sh --dry-run --overlay $o: $(cat "$work/dry")"; continue
  fi
  listed=$(grep -c '^apply ' "$work/dry")
  rendered=$(grep -c '^kind: ' "$work/$o.yaml")
  [ "$listed" -eq "$rendered" ] && pass "deploy.sh --dry-run $o lists all $listed objects" ||
    fail "deploy.sh --dry-run $o lists $listed objects, kustomize renders $rendered"
  order=$(grep -E '^apply ' "$work/dry" | awk '{print $3}' | sed 's|/.*||' | uniq | tr '\n' ' ')
  line() { grep -n -E "^apply [0-9a-z-]+ $1" "$work/dry" | head -1 | cut -d: -f1; }
  ns=$(line Namespace/); job=$(line Job/inferline-migrate); dep=$(line Deployment/inferline-gateway)
  so=$(line ScaledObject/inferline-worker); np=$(line NetworkPolicy/)
  if [ "$ns" = 2 ] && [ "$np" -lt "$job" ] && [ "$job" -lt "$dep" ] && [ "$dep" -lt "$so" ]; then
    pass "deploy.sh $o order: namespace, policies, migration, deployments, autoscalers"
  else fail "deploy.sh $o order is wrong: $order"; fi
  grep -q '^# wait complete job/inferline-migrate' "$work/dry" && pass "deploy.sh $o waits for the migration" ||
    fail "deploy.sh $o does not wait for the migration Job"
done
KUBECTL=$kubectl "$root/scripts/deploy.sh" --overlay prod --image registry.example/inferline:1.2.3 --render >"$work/r" 2>&1
grep -c 'image: registry.example/inferline:1.2.3' "$work/r" | grep -qx 4 && pass "deploy.sh --image sets every inferline container's image" ||
  fail "deploy.sh --image: $(grep 'image:' "$work/r")"
out=$("$root/scripts/deploy.sh" --overlay nosuch --dry-run 2>&1) && fail "unknown overlay accepted" ||
  { grep -q "no overlay 'nosuch'" <<<"$out" && pass "deploy.sh names an unknown overlay" || fail "unknown overlay: $out"; }
out=$(KUBECTL=$kubectl "$root/scripts/deploy.sh" --image 'bad image' --dry-run 2>&1) && fail "bad --image accepted" ||
  { grep -q -- "--image must look like" <<<"$out" && pass "deploy.sh refuses a malformed --image" || fail "bad image: $out"; }

# --- make-secrets.sh refuses incomplete input, names what is missing.
ms=$root/deploy/kubernetes/make-secrets.sh
out=$(env -u RABBITMQ_URL -u POSTGRES_URL -u REDIS_URL "$ms" --rabbitmq-url amqp://u:p@h/v 2>&1) &&
  fail "make-secrets.sh without a PostgreSQL URL succeeded" ||
  { grep -q "no PostgreSQL URL" <<<"$out" && pass "make-secrets.sh names the missing URL" || fail "make-secrets: $out"; }
out=$("$ms" --rabbitmq-url http://h --postgres-url postgresql://h/d --redis-url redis://h 2>&1) &&
  fail "make-secrets.sh accepted an http:// RabbitMQ URL" ||
  { grep -q "must start with amqp://" <<<"$out" && pass "make-secrets.sh checks URL schemes" || fail "make-secrets: $out"; }
"$ms" --rabbitmq-url 'amqps://u:p"q\@h/v' --postgres-url postgresql://h/d --redis-url rediss://h >"$work/s"
roundtrip='import {parseAllDocuments} from "yaml"; import {readFileSync} from "node:fs";
  const s = parseAllDocuments(readFileSync(process.argv[1], "utf8"))[0].toJS();
  process.exit(s.stringData["rabbitmq-url"] === process.argv[2] ? 0 : 1);'
if (cd "$root/deploy/tools" && node --input-type=module -e "$roundtrip" "$work/s" 'amqps://u:p"q\@h/v'); then
  pass "make-secrets.sh quotes values (a quote and a backslash in a password survive)"
else fail "make-secrets.sh output does not round-trip: $(cat "$work/s")"; fi

[ $failures -eq 0 ] && echo "all passed" || { echo "$failures failed"; exit 1; }
