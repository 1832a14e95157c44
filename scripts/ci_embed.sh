#!/usr/bin/env bash
# rest-shaper as a versioned dependency (issue 16): clones this repository's committed HEAD into a
# temporary folder, tags it with the current version (RestShaperVersion), builds
# examples/swift-embed against that clone by `file://` URL and `from:` version — the way SwiftPM
# resolves a released package, which refuses unsafeFlags — then shapes every golden-vector case
# in-process and checks the weights against the golden ones (the example exits 1 on a difference).
#
#   scripts/ci_embed.sh [KEEP_DIR]     KEEP_DIR: build there and keep it (default: a temp dir, removed)
#
# Uncommitted changes are not in the clone: commit first when trying a change locally.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

version=$(sed -n 's/.*static let string = "\([0-9][0-9.]*\)".*/\1/p' Sources/rest-shaper/RestShaper.swift)
[ -n "$version" ] || { echo "ci_embed: no version in Sources/rest-shaper/RestShaper.swift"; exit 1; }

if [ $# -ge 1 ]; then work=$1; mkdir -p "$work"; else work=$(mktemp -d /tmp/rest-shaper-embed.XXXXXX); trap 'rm -rf "$work"' EXIT; fi
rm -rf "$work/rest-shaper" "$work/swift-embed"

git clone --quiet --no-local "$root" "$work/rest-shaper"
git -C "$work/rest-shaper" tag -f "$version" >/dev/null
echo "ci_embed: rest-shaper $(git -C "$work/rest-shaper" rev-parse --short HEAD) tagged $version in $work/rest-shaper"

cp -R examples/swift-embed "$work/swift-embed"
rm -rf "$work/swift-embed/.build"
export REST_SHAPER_URL="file://$work/rest-shaper" REST_SHAPER_VERSION="$version"
swift build -c release --package-path "$work/swift-embed"
# The resolved dependency must be the tagged version, not a branch or a revision.
swift package --package-path "$work/swift-embed" show-dependencies --format json > "$work/deps.json"
python3 - "$version" "$work/deps.json" <<'EOF'
import json, sys
deps = {d["identity"]: d for d in json.load(open(sys.argv[2]))["dependencies"]}
got = deps.get("rest-shaper", {}).get("version")
if got != sys.argv[1]:
    sys.exit(f"ci_embed: rest-shaper resolved as {got!r}, expected version {sys.argv[1]}")
print(f"ci_embed: rest-shaper resolved by version {got}")
EOF

bin="$(swift build -c release --package-path "$work/swift-embed" --show-bin-path)/swift-embed"
"$bin" "$root/Tests/TestSupport/Fixtures/qwen.tiktoken" "$root/Tests/TestSupport/Fixtures/rest_vectors_visible.json" \
  > "$work/embed.jsonl"
head -c 400 "$work/embed.jsonl"; echo " …"
tail -1 "$work/embed.jsonl"
