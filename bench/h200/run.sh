#!/usr/bin/env bash
# The H200 benchmark (issue 6): runs bench/networks.ts (our WGSL kernels and
# member forwards through Deno's WebGPU on the machine's Vulkan driver) and
# bench/h200/torch_bench.py (PyTorch on the same GPU, float32 with TF32 off
# and under autocast) at the same shapes, then merges both into one table
# (bench/h200/report.ts) written to $OUT/h200.md and into BENCHMARKS.md.
#
# Prepare on a machine with Deno and Debian's libvulkan1: bash bench/h200/prepare.sh
# Then on the GPU machine (no network needed), from the repository root:
#   OUT=/some/dir bash bench/h200/run.sh
# with .cache/h200 carried along. Each step has its own time limit, so that one
# run stays within 10 minutes.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
out="${OUT:-$root/.cache/h200/out}"
mkdir -p "$out"
log() { echo "h200: $*" | tee -a "$out/run.log" >&2; }
work="$(mktemp -d)"

# Deno: the carried binary unless one is installed.
deno_bin="$(command -v deno || true)"
if [[ -z "$deno_bin" ]]; then
  if [[ ! -f .cache/h200/deno.xz ]]; then
    log "no deno and no .cache/h200/deno.xz (run bench/h200/prepare.sh and carry .cache/h200)"
    exit 1
  fi
  xz -dc .cache/h200/deno.xz >"$work/deno" && chmod +x "$work/deno"
  deno_bin="$work/deno"
fi
log "deno: $("$deno_bin" --version | head -1)"

# Vulkan: the system loader, else the carried one; the NVIDIA ICD from the driver.
if ! ldconfig -p | grep -q 'libvulkan\.so\.1 '; then
  export LD_LIBRARY_PATH="$root/.cache/h200/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  log "using the carried Vulkan loader"
fi
if [[ -z "${VK_ICD_FILENAMES:-}" ]]; then
  icd="$(ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json 2>/dev/null | head -1)"
  if [[ -z "$icd" ]]; then
    glx="$(ldconfig -p | awk '/libGLX_nvidia\.so\.0/ {print $NF; exit}')"
    if [[ -n "$glx" ]]; then
      # The NVIDIA driver's Vulkan ICD lives in libGLX_nvidia; describe it ourselves.
      icd="$work/nvidia_icd.json"
      printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3"}}\n' \
        "$glx" >"$icd"
    fi
  fi
  if [[ -n "$icd" ]]; then
    export VK_ICD_FILENAMES="$icd"
    log "Vulkan ICD: $icd"
  else
    log "no NVIDIA Vulkan ICD found (driver installed without its graphics libraries?); WebGPU may fall back to a CPU adapter"
  fi
fi
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$work}"
chmod 700 "$XDG_RUNTIME_DIR" 2>/dev/null || true
export DENO_WEBGPU_BACKEND=vulkan
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$out/gpu.txt" 2>&1
log "GPU: $(cat "$out/gpu.txt")"

families="${FAMILIES:-cnn3d,cnn3d_more_filters,unet3d,unet3d_jumbo,unetr,unetr_mc}"
timeout 200 python3 bench/h200/torch_bench.py --json "$out/torch.json" --families "$families" \
  >"$out/torch.txt" 2>&1
log "torch_bench exit $? ($(wc -l <"$out/torch.txt") lines)"
timeout 300 "$deno_bin" run -A --no-config --no-lock bench/networks.ts --families "$families" \
  --json "$out/ours.json" >"$out/ours.txt" 2>&1
log "networks.ts exit $? ($(wc -l <"$out/ours.txt") lines)"
timeout 30 "$deno_bin" run -A --no-config --no-lock bench/h200/report.ts "$out" BENCHMARKS.md \
  >"$out/report.log" 2>&1
log "report exit $?"
cp BENCHMARKS.md "$out/BENCHMARKS.md" 2>/dev/null
rm -rf "$work"
