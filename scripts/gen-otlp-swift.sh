#!/usr/bin/env bash
# Regenerates Sources/TernIngest/Generated/*.pb.swift from proto/opentelemetry/**.proto.
#
# Builds protoc-gen-swift from swift-protobuf at the same version Package.swift resolves
# (SWIFT_PROTOBUF_VERSION, default 1.39.0) in a scratch directory outside the repo, then runs
# protoc (Debian's protobuf-compiler; installed with apt-get when missing and we are root).
# Rerunnable: an existing checkout and build are reused, so later runs take seconds.
#
#   scripts/gen-otlp-swift.sh
#
# Environment: SWIFT_PROTOBUF_VERSION, SWIFT_PROTOBUF_URL (default the github URL, which git
# may redirect to a local mirror), TERN_PROTOC_GEN_SWIFT_DIR (scratch dir), SWIFT_BUILD_JOBS.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${SWIFT_PROTOBUF_VERSION:-1.39.0}"
url="${SWIFT_PROTOBUF_URL:-https://github.com/apple/swift-protobuf.git}"
scratch="${TERN_PROTOC_GEN_SWIFT_DIR:-${TMPDIR:-/tmp}/tern-protoc-gen-swift}"
jobs="${SWIFT_BUILD_JOBS:-1}"
out="$repo/Sources/TernIngest/Generated"
protos=(
  opentelemetry/proto/common/v1/common.proto
  opentelemetry/proto/resource/v1/resource.proto
  opentelemetry/proto/trace/v1/trace.proto
  opentelemetry/proto/collector/trace/v1/trace_service.proto
)

case "$scratch" in
  "$repo"|"$repo"/*) echo "gen-otlp-swift: scratch dir must be outside the repo: $scratch" >&2; exit 2 ;;
esac

# 1. protoc
if ! command -v protoc >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "gen-otlp-swift: installing protobuf-compiler" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq protobuf-compiler >/dev/null
  else
    echo "gen-otlp-swift: protoc not found; install protobuf-compiler" >&2; exit 1
  fi
fi

# 2. protoc-gen-swift at the pinned version
src="$scratch/src"
if [ ! -d "$src/.git" ]; then
  rm -rf "$src"
  mkdir -p "$scratch"
  git -c advice.detachedHead=false clone -q --depth 1 --branch "$version" "$url" "$src"
fi
have="$(git -C "$src" describe --tags --exact-match 2>/dev/null || true)"
if [ "$have" != "$version" ]; then
  echo "gen-otlp-swift: $src is at '$have', expected $version; remove it and rerun" >&2; exit 1
fi
echo "gen-otlp-swift: building protoc-gen-swift $version in $src (first build takes 10-20 min on one core)" >&2
(cd "$src" && swift build -j "$jobs" -c release --product protoc-gen-swift)
plugin="$(cd "$src" && swift build -j "$jobs" -c release --product protoc-gen-swift --show-bin-path)/protoc-gen-swift"
[ -x "$plugin" ] || { echo "gen-otlp-swift: no plugin at $plugin" >&2; exit 1; }

# 3. generate
mkdir -p "$out"
rm -f "$out"/*.pb.swift
protoc --plugin=protoc-gen-swift="$plugin" \
  -I "$repo/proto" \
  --swift_out="$out" \
  --swift_opt=Visibility=Internal \
  --swift_opt=FileNaming=PathToUnderscores \
  "${protos[@]}"
echo "gen-otlp-swift: $(protoc --version), $("$plugin" --version 2>/dev/null || echo "protoc-gen-swift $version")" >&2
ls -1 "$out"/*.pb.swift
