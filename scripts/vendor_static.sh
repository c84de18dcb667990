#!/usr/bin/env bash
# Re-vendor the pinned front-end assets from the npm registry into static/vendor/.
#
#   scripts/vendor_static.sh           # fetch pinned versions, verify, copy, rewrite VERSIONS.md
#   scripts/vendor_static.sh --check   # only show the newest release in each pinned range
#
# To upgrade: change a version *and* its integrity below (npm view <pkg>@<ver> dist.integrity),
# run the script, then run the test suite. Needs: npm, tar, openssl.
#
# Only the dist files the site uses are copied. Trailing sourceMappingURL comments are
# removed because the .map files are not vendored and ManifestStaticFilesStorage
# (whitenoise's CompressedManifestStaticFilesStorage) fails on a referenced file that is missing.
set -euo pipefail

# name|version|range checked by --check|sha512 integrity of the npm tarball
PINS=(
  "bootstrap|5.3.9|5.3|sha512-20cU0rcfw8WdxtVbmfU+xT2EjvVTw9Ror/h1Qvd7DXCujRg8OO9mdBCsmTHdJFf3BuadmBNJtgIuUXsBqSkk/w=="
  "leaflet|1.9.4|1.9|sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA=="
  "axe-core|4.14.1|4|sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
  "altcha|3.2.2|3|sha512-yNITQaRSkRe0u/hMxdzoXFFqxqn9iDt1rJ0reREU3D3uDD3w1oFz6v5C2PMww2XnGThtYUwe8MW+PxsiBglNqw=="
)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="$REPO_ROOT/static/vendor"
REGISTRY="https://registry.npmjs.org"

if [[ "${1:-}" == "--check" ]]; then
  for pin in "${PINS[@]}"; do
    IFS='|' read -r name version range _ <<<"$pin"
    # npm lists matches in publish order, which is not always semver order; sort them.
    latest="$(npm view "$name@$range" version --json 2>/dev/null | tr -d '[]" \n' | tr ',' '\n' | sed '/^$/d' | sort -V | tail -n1)"
    printf '%-10s pinned %-8s newest %s.x: %s\n' "$name" "$version" "$range" "$latest"
  done
  exit 0
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/vendor-work.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# fetch NAME VERSION INTEGRITY -> prints the extracted package dir
fetch() {
  local name="$1" version="$2" integrity="$3" tgz actual
  tgz="$(cd "$WORK" && npm pack "$name@$version" --registry "$REGISTRY" --silent 2>/dev/null | tail -n1)"
  actual="sha512-$(openssl dgst -sha512 -binary "$WORK/$tgz" | openssl base64 -A)"
  if [[ "$actual" != "$integrity" ]]; then
    echo "integrity mismatch for $name@$version: got $actual, pinned $integrity" >&2
    exit 1
  fi
  mkdir -p "$WORK/$name"
  tar -xzf "$WORK/$tgz" -C "$WORK/$name"
  echo "$WORK/$name/package"
}

# put SRC DEST: copy one file with fixed permissions
put() { install -D -m 0644 "$1" "$2"; }

strip_sourcemaps() {
  # Drop whole-line "//# sourceMappingURL=..." / "/*# sourceMappingURL=... */" comments.
  sed -i -E '/^[[:space:]]*(\/\/|\/\*)[#@][[:space:]]*sourceMappingURL=/d' "$@"
}

# Fetch and verify everything first, so a failure leaves static/vendor untouched.
declare -A SRC
for pin in "${PINS[@]}"; do
  IFS='|' read -r name version _ integrity <<<"$pin"
  SRC[$name]="$(fetch "$name" "$version" "$integrity")"
done

for pin in "${PINS[@]}"; do
  IFS='|' read -r name _ _ _ <<<"$pin"
  src="${SRC[$name]}"
  dest="$VENDOR/$name"
  rm -rf "$dest"
  case "$name" in
    bootstrap)
      put "$src/dist/css/bootstrap.min.css"     "$dest/css/bootstrap.min.css"
      put "$src/dist/js/bootstrap.bundle.min.js" "$dest/js/bootstrap.bundle.min.js"
      put "$src/LICENSE"                         "$dest/LICENSE"
      strip_sourcemaps "$dest/css/bootstrap.min.css" "$dest/js/bootstrap.bundle.min.js"
      ;;
    leaflet)
      put "$src/dist/leaflet.js"  "$dest/leaflet.js"
      put "$src/dist/leaflet.css" "$dest/leaflet.css"
      for img in marker-icon.png marker-icon-2x.png marker-shadow.png layers.png layers-2x.png; do
        put "$src/dist/images/$img" "$dest/images/$img"
      done
      put "$src/LICENSE" "$dest/LICENSE"
      strip_sourcemaps "$dest/leaflet.js" "$dest/leaflet.css"
      ;;
    axe-core)
      put "$src/axe.min.js"             "$dest/axe.min.js"
      put "$src/LICENSE"                "$dest/LICENSE"
      put "$src/LICENSE-3RD-PARTY.txt"  "$dest/LICENSE-3RD-PARTY.txt"
      strip_sourcemaps "$dest/axe.min.js"
      ;;
    altcha)
      # Only the widget's PBKDF2 worker: static/tickets/proof_of_work.js drives it out of sight
      # (the widget itself is a visible control, ten times the size).
      put "$src/dist/workers/pbkdf2.js" "$dest/pbkdf2.js"
      put "$src/LICENSE.txt"            "$dest/LICENSE.txt"
      strip_sourcemaps "$dest/pbkdf2.js"
      ;;
    *) echo "no copy rule for $name" >&2; exit 1 ;;
  esac
done

if grep -rl --exclude=VERSIONS.md 'sourceMappingURL' "$VENDOR"; then
  echo "error: files above still reference sourceMappingURL" >&2
  exit 1
fi

# Rewrite VERSIONS.md from the pins.
{
  echo "# Vendored front-end assets"
  echo
  echo "Fetched from the npm registry by \`scripts/vendor_static.sh\`; do not edit the files by hand."
  echo "Only the dist files the site uses are kept, and the trailing source-map comments are"
  echo "removed (the .map files are not vendored; ManifestStaticFilesStorage would fail on them)."
  echo
  echo "| Package | Version | Tarball | Integrity (\`npm view <pkg>@<ver> dist.integrity\`) |"
  echo "|---|---|---|---|"
  for pin in "${PINS[@]}"; do
    IFS='|' read -r name version _ integrity <<<"$pin"
    echo "| $name | $version | $REGISTRY/$name/-/$name-$version.tgz | \`$integrity\` |"
  done
  echo
  echo "Files:"
  echo
  (cd "$VENDOR" && find . -type f ! -name VERSIONS.md | sed 's|^\./||' | LC_ALL=C sort | sed 's/^/- `/; s/$/`/')
  echo
  echo "Refresh (re-fetch the pinned versions, verify integrity, copy, rewrite this file):"
  echo
  echo '```'
  echo "scripts/vendor_static.sh"
  echo '```'
  echo
  echo "Newest release in each pinned range: \`scripts/vendor_static.sh --check\`. To upgrade, edit"
  echo "the version and integrity in the script's PINS list, run it, then run the tests."
} >"$VENDOR/VERSIONS.md"

echo "vendored into $VENDOR"
