#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh needs on a GPU machine that has no Swift toolchain (the device
# machines of this workplace: CUDA, PyTorch and transformers, no Swift, no network) into
# .gpu-bundle/bundle.tar.zst (gitignored): the release binary and test executable (stripped),
# the test resource bundles, and every shared library they load that is not glibc's. The GPU
# machine's own libcuda, and the NVRTC/cuBLAS wheels of its PyTorch venv, are found at run time.
# Build first: swift build -c release --build-tests
# On the GPU machine (repository root, the bundle carried along):
#   mkdir -p /tmp/rs && tar -I zstd -xf .gpu-bundle/bundle.tar.zst -C /tmp/rs &&
#   LD_LIBRARY_PATH=/tmp/rs/lib BIN=/tmp/rs/bin/rest-shaper TESTBIN=/tmp/rs/bin/rest-shaperPackageTests.xctest \
#   VIRTUAL_ENV=$(dirname "$(dirname "$(readlink -f "$(command -v python3)")")") scripts/gpu_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=$(swift build -c release --show-bin-path)
B=.gpu-bundle
rm -rf "$B/stage" && mkdir -p "$B/stage/bin" "$B/stage/lib"
for exe in rest-shaper rest-shaperPackageTests.xctest; do
  [ -x "$BIN_DIR/$exe" ] || { echo "missing $BIN_DIR/$exe: swift build -c release --build-tests"; exit 1; }
  cp "$BIN_DIR/$exe" "$B/stage/bin/"
  strip "$B/stage/bin/$exe"
  # Every resolved library except glibc's own (the GPU image has a glibc; these it may lack).
  ldd "$BIN_DIR/$exe" | awk '/=> \// {print $3}' | grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
    while read -r lib; do cp -L -n "$lib" "$B/stage/lib/" 2>/dev/null || true; done
done
cp -r "$BIN_DIR"/*.resources "$B/stage/bin/"
tar -C "$B/stage" -cf - bin lib | zstd -q -19 -T0 -o "$B/bundle.tar.zst" -f
rm -rf "$B/stage"
size=$(stat -c %s "$B/bundle.tar.zst")
echo "$B/bundle.tar.zst: $((size / 1048576)) MiB"
[ "$size" -le $((60 * 1048576)) ] || { echo "bundle over 60 MiB: the device machine takes 64 MiB with the working tree"; exit 1; }
