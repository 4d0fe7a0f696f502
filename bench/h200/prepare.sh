#!/usr/bin/env bash
# Builds what the H200 benchmark carries to a machine with no network, under
# .cache/h200 (git-ignored; pass it as the device tool's `carry`):
#   deno.xz          this machine's Deno binary, xz-compressed (~95 MB -> ~30 MB)
#   lib/libvulkan.so.1  the Vulkan loader from Debian's libvulkan1
# The NVIDIA Vulkan driver itself comes with the GPU machine's driver install.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/.cache/h200"
mkdir -p "$out/lib"
deno_bin="$(readlink -f "$(command -v deno)")"
if [[ ! -f "$out/deno.xz" || "$deno_bin" -nt "$out/deno.xz" ]]; then
  xz -T0 -6 -c "$deno_bin" >"$out/deno.xz.partial" && mv "$out/deno.xz.partial" "$out/deno.xz"
fi
loader="$(ldconfig -p | awk '/libvulkan\.so\.1 .*x86-64/ {print $NF; exit}')"
if [[ -z "$loader" ]]; then
  echo "prepare.sh: no libvulkan.so.1 here; apt-get install -y libvulkan1" >&2
  exit 1
fi
cp -L "$loader" "$out/lib/libvulkan.so.1"
du -sh "$out"/* | sed 's/^/prepare.sh: /'
