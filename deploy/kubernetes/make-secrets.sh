#!/usr/bin/env bash
# Prints the Secrets inferline's manifests reference, as YAML on standard output, so that
# credentials never live in the repository:   make-secrets.sh ... | kubectl apply -f -
#
#   make-secrets.sh --dev
#       inferline-dev-data (random passwords for the dev overlay's RabbitMQ, PostgreSQL and Redis)
#       and inferline-secrets with the URLs of those in-cluster services.
#   make-secrets.sh --rabbitmq-url URL --postgres-url URL --redis-url URL
#       inferline-secrets for managed or operator-run services (prod, upstream). The URLs may
#       also come from RABBITMQ_URL, POSTGRES_URL and REDIS_URL in the environment.
#   --admin-key sk-il-...
#       the admin API key (admin.key) that the gateway registers at start and KEDA uses to read
#       GET /v1/admin/scaling; a new random one when not given. Kept in inferline-secrets.
#   --upstream-api-key KEY | --upstream-api-key random
#       inferline-upstream: the API key the upstream server (vLLM) expects (upstream overlay).
#   --namespace NS   (default inferline)
#
# Running it again makes new passwords and a new admin key: apply the dev Secrets once, before
# the data services' volumes are first initialised (an earlier admin key stays valid until it
# is revoked).
set -euo pipefail

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "make-secrets.sh: $*" >&2; exit 2; }

namespace=inferline
dev=0
rabbitmq_url=${RABBITMQ_URL:-}
postgres_url=${POSTGRES_URL:-}
redis_url=${REDIS_URL:-}
upstream_key=""
admin_key=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dev) dev=1 ;;
    --namespace) namespace=${2:?--namespace needs a value}; shift ;;
    --rabbitmq-url) rabbitmq_url=${2:?--rabbitmq-url needs a value}; shift ;;
    --postgres-url) postgres_url=${2:?--postgres-url needs a value}; shift ;;
    --redis-url) redis_url=${2:?--redis-url needs a value}; shift ;;
    --admin-key) admin_key=${2:?--admin-key needs a value}; shift ;;
    --upstream-api-key) upstream_key=${2:?--upstream-api-key needs a value}; shift ;;
    -h|--help) usage 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

random() { LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c "${1:-32}" || true; }
json() {  # a JSON string (valid YAML) holding $1
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}
secret() {  # <name> <key> <value> [<key> <value>]...
  local name=$1; shift
  printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\n' "$name" "$namespace"
  printf '  labels:\n    app.kubernetes.io/part-of: inferline\ntype: Opaque\nstringData:\n'
  while [ $# -gt 0 ]; do
    printf '  %s: %s\n' "$1" "$(json "$2")"
    shift 2
  done
}

if [ $dev -eq 1 ]; then
  rabbit_pw=$(random 32); pg_pw=$(random 32); redis_pw=$(random 32)
  svc=svc.cluster.local
  secret inferline-dev-data rabbitmq-user inferline rabbitmq-password "$rabbit_pw" \
    postgres-password "$pg_pw" redis-password "$redis_pw"
  rabbitmq_url="amqp://inferline:$rabbit_pw@rabbitmq.$namespace.$svc:5672/%2F"
  postgres_url="postgresql://inferline:$pg_pw@postgres.$namespace.$svc:5432/inferline"
  redis_url="redis://:$redis_pw@redis.$namespace.$svc:6379/0"
fi
[ -n "$rabbitmq_url" ] || die "no RabbitMQ URL: --rabbitmq-url amqp://user:password@host:5672/vhost (or --dev)"
[ -n "$postgres_url" ] || die "no PostgreSQL URL: --postgres-url postgresql://user:password@host:5432/db (or --dev)"
[ -n "$redis_url" ] || die "no Redis URL: --redis-url redis://:password@host:6379/0 (or --dev)"
case "$rabbitmq_url" in amqp://*|amqps://*) ;; *) die "--rabbitmq-url must start with amqp:// or amqps://" ;; esac
case "$postgres_url" in postgres://*|postgresql://*) ;; *) die "--postgres-url must start with postgresql://" ;; esac
case "$redis_url" in redis://*|rediss://*) ;; *) die "--redis-url must start with redis:// or rediss://" ;; esac
[ -n "$admin_key" ] || admin_key="sk-il-$(random 40)"
[[ "$admin_key" =~ ^sk-il-[A-Za-z0-9]{14,}$ ]] || die "--admin-key must look like sk-il- and at least 14 letters or digits"
secret inferline-secrets rabbitmq-url "$rabbitmq_url" postgres-url "$postgres_url" redis-url "$redis_url" \
  admin-key "$admin_key"

if [ -n "$upstream_key" ]; then
  [ "$upstream_key" = random ] && upstream_key=$(random 40)
  secret inferline-upstream api-key "$upstream_key"
fi
