#!/usr/bin/env bash
# What can be checked of deploy/Dockerfile without docker:
#   - every stage is Debian 12 (bookworm); the runtime stage runs as a numeric non-root user and
#     starts the inferline binary; every path it COPYs from the build context exists and is not
#     excluded by .dockerignore; the model files it copies exist;
#   - every runtime package (deploy/runtime-packages.txt) exists in Debian 12, and together
#     with debian:bookworm-slim's own libraries they provide every shared library that
#     `ldd inferline` lists;
#   - the image's file layout works: a copy of the binary in <tmp>/usr/local/bin with the model
#     in <tmp>/usr/local/share/inferline/models/kjv-small finds the model by itself.
# Usage: dockerfile_test.sh <path-to-inferline>
set -uo pipefail
bin=$(realpath "${1:?usage: $0 <inferline binary>}")
root=$(cd "$(dirname "$0")/../.." && pwd)
dockerfile=$root/deploy/Dockerfile
packages_file=$root/deploy/runtime-packages.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# --- Stages and user.
froms=$(grep -E '^FROM ' "$dockerfile")
default_image=$(sed -n 's/^ARG DEBIAN_IMAGE=//p' "$dockerfile")
if [[ "$default_image" == debian:bookworm* ]] && ! grep -qv 'FROM \${DEBIAN_IMAGE}' <<<"$froms"; then
  pass "every stage is $default_image"
else
  fail "stages must all be FROM \${DEBIAN_IMAGE} with DEBIAN_IMAGE=debian:bookworm*: $froms"
fi
runtime=$(awk '/^FROM .* AS runtime/{r=1} r' "$dockerfile")
user=$(sed -n 's/^USER //p' <<<"$runtime" | tail -1)
if [[ "$user" =~ ^[1-9][0-9]*(:[1-9][0-9]*)?$ ]]; then pass "runtime user is numeric and not root ($user)"; else
  fail "runtime USER must be a numeric non-zero uid, got '$user'"; fi
grep -q '^ENTRYPOINT \["/usr/local/bin/inferline"\]' <<<"$runtime" && pass "entrypoint is inferline" ||
  fail "runtime ENTRYPOINT is not /usr/local/bin/inferline"

# --- COPY sources exist in the context and are not ignored.
ignored() {  # <path>: is it excluded by .dockerignore? (the simple patterns used there)
  local p=$1 pat
  while read -r pat; do
    [[ -z "$pat" || "$pat" == \#* ]] && continue
    pat=${pat#/}
    pat=${pat#\*\*/}
    [[ "$p" == $pat || "$p" == $pat/* || "$p" == */$pat || "$p" == */$pat/* ]] && return 0
  done <"$root/.dockerignore"
  return 1
}
while read -r src; do
  [ "$src" = . ] && continue
  if [ ! -e "$root/$src" ]; then fail "COPY source $src does not exist"
  elif ignored "$src"; then fail "COPY source $src is excluded by .dockerignore"
  else pass "COPY source $src exists"; fi
done < <(grep -E '^COPY ' "$dockerfile" | grep -v -- '--from=' | awk '{print $2}')
for f in $(grep -oE 'models/kjv-small/[a-z_.]+' "$dockerfile" | sort -u); do
  if [ -f "$root/$f" ] && ! ignored "$f"; then pass "model file $f is in the build context"; else
    fail "model file $f missing or excluded by .dockerignore"; fi
done
ignored build/release/bin/inferline && pass ".dockerignore excludes build/" || fail ".dockerignore must exclude build/"

# --- Runtime packages exist in Debian 12.
if ! grep -q 'VERSION_CODENAME=bookworm' /etc/os-release; then
  fail "this check needs a Debian 12 (bookworm) host to look packages up; this is $(. /etc/os-release; echo "$PRETTY_NAME")"
fi
mapfile -t packages < <(grep -v -E '^\s*(#|$)' "$packages_file")
[ ${#packages[@]} -gt 0 ] || fail "no packages in $packages_file"
for p in "${packages[@]}"; do
  # The archive's index when `apt-get update` has run; else the local install database.
  if apt-cache show --no-all-versions "$p" 2>/dev/null | grep -q '^Version:' ||
     dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    pass "package $p exists in Debian 12"
  else
    fail "package $p is not a Debian 12 package"
  fi
done

# --- ldd coverage: each library comes from a runtime package or from bookworm-slim itself.
base_packages=" libc6 libgcc-s1 libstdc++6 zlib1g "   # in debian:bookworm-slim (apt needs them)
ldd_out=$(ldd "$bin" 2>&1) || fail "ldd failed: $ldd_out"
if grep -q 'not found' <<<"$ldd_out"; then fail "unresolved libraries here: $(grep 'not found' <<<"$ldd_out")"; fi
# apt installs a listed package's dependencies too (libpq5 brings Kerberos, LDAP, GnuTLS, ...):
# the packages reachable through Depends from the list count as installed.
closure=" $(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
  --no-breaks --no-replaces --no-enhances "${packages[@]}" 2>/dev/null |
  grep -v -E '^\s|<' | sed 's/:.*//' | sort -u | tr '\n' ' ') "
while read -r lib path; do
  real=$(realpath "$path")
  owner=$(dpkg -S "$real" 2>/dev/null || dpkg -S "$path" 2>/dev/null | head -1)
  pkg=${owner%%:*}
  if [ -z "$pkg" ]; then fail "$lib ($path) belongs to no Debian package"
  elif [[ " ${packages[*]} " == *" $pkg "* || "$base_packages" == *" $pkg "* ]]; then
    pass "$lib from $pkg"
  elif [[ "$closure" == *" $pkg "* ]]; then
    pass "$lib from $pkg (a dependency of a listed package)"
  else
    fail "$lib comes from $pkg, which deploy/runtime-packages.txt lacks"
  fi
done < <(awk '/=> \// {print $1, $3}' <<<"$ldd_out")

# --- The image's layout: the binary finds the model beside it, from any working directory.
mkdir -p "$work/usr/local/bin" "$work/usr/local/share/inferline/models/kjv-small" "$work/cwd"
cp "$bin" "$work/usr/local/bin/inferline"
for f in config.json generation_config.json model.safetensors tokenizer.json tokenizer_config.json; do
  ln -s "$root/models/kjv-small/$f" "$work/usr/local/share/inferline/models/kjv-small/$f"
done
out=$(cd "$work/cwd" && env -u INFERLINE_MODEL_PATH "$work/usr/local/bin/inferline" tokenize "And God said" 2>&1)
if [ $? -eq 0 ] && [[ "$out" =~ [0-9] ]]; then pass "image layout: the model is found at ../share/inferline/models"; else
  fail "image layout: inferline tokenize without --model failed: $out"; fi

[ $failures -eq 0 ] || { echo "$failures checks failed"; exit 1; }
echo "all passed"
