#!/usr/bin/env python3
"""PyTorch side of the H200 benchmark: the kernels and member forwards that
`bench/networks.ts` times, at the same shapes, in float32 with TF32 off and
under autocast (bfloat16), on the machine's GPU (CPU if none, for a smoke
run). Times are CUDA-event medians of repeated runs after a warm-up.

Usage: python3 bench/h200/torch_bench.py --json OUT.json [--families a,b] [--reps N]
"""

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "fixtures", "networks"))
from gen_networks import unetr_config  # noqa: E402
from reference_models import (  # noqa: E402
    CNN3D_Segformer, UNETR_Segformer, mit_config, unet3d_segformer)

# The ensemble's SegFormer preset, 3D-encoder channels and labels per family (networks/families.ts).
FAMILIES = {
    "cnn3d": ("b3", 32, 1),
    "cnn3d_more_filters": ("b3", 64, 1),
    "unet3d": ("b3", 16, 1),
    "unet3d_jumbo": ("b5", 32, 1),
    "unetr": ("b5", 32, 1),
    "unetr_mc": ("b5", 32, 3),
}


def family_model(family, tile):
    preset, ch, labels = FAMILIES[family]
    seg = mit_config(preset, num_channels=ch, num_labels=labels)
    if family.startswith("cnn3d"):
        return CNN3D_Segformer(seg, out_channels=ch)
    if family.startswith("unet3d"):
        return unet3d_segformer(seg, out_channels=ch)
    unetr = unetr_config(out_channels=ch, img_size=(16, tile, tile), conv_block=family == "unetr")
    return UNETR_Segformer(seg, unetr, multiclass=family == "unetr_mc")


def attention(q, k, v):
    sdpa = getattr(F, "scaled_dot_product_attention", None)
    if sdpa is not None:
        return sdpa(q, k, v)
    return torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, -1) @ v


def timer(dev):
    """Returns run(fn, reps) -> median milliseconds."""
    def run(fn, reps):
        fn()  # warm-up
        times = []
        for _ in range(reps):
            if dev.type == "cuda":
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record()
                fn()
                b.record()
                torch.cuda.synchronize()
                times.append(a.elapsed_time(b))
            else:
                t0 = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t0) * 1e3)
        times.sort()
        return times[len(times) // 2]
    return run


def kernel_cases(dev):
    """(name as bench/networks.ts prints it, fn, FLOPs)."""
    r = lambda *s: torch.randn(*s, device=dev)  # noqa: E731
    x3, w3 = r(1, 16, 16, 128, 128), r(16, 16, 3, 3, 3)
    x2, w2 = r(1, 64, 128, 128), r(128, 64, 3, 3)
    xm, wm = r(4096, 256), r(256, 256)
    q, k, v = r(1, 1, 16384, 64), r(1, 1, 256, 64), r(1, 1, 256, 64)
    xp, wp = r(1, 32, 256, 256), r(64, 32, 7, 7)
    xd, wd = r(1, 256, 64, 64), r(256, 1, 3, 3)
    xi, wi, dy = r(8, 16, 4, 128, 128), r(32, 16, 3, 3, 3), r(8, 32, 4, 128, 128)
    return [
        ("conv3d 3x3x3 16->16, 16x128x128", lambda: F.conv3d(x3, w3, padding=1),
         2 * 16 * 16 * 27 * 16 * 128 * 128),
        ("conv2d 3x3 s2 64->128, 128x128", lambda: F.conv2d(x2, w2, stride=2, padding=1),
         2 * 128 * 64 * 9 * 64 * 64),
        ("matmul 4096x256 by 256x256", lambda: xm @ wm, 2 * 4096 * 256 * 256),
        ("attention 16384 q x 256 k, 1 head of 64",
         lambda: attention(q, k, v), 4 * 16384 * 256 * 64),
        ("conv2d 7x7 s4 32->64, 256x256", lambda: F.conv2d(xp, wp, stride=4, padding=3),
         2 * 64 * 32 * 49 * 64 * 64),
        ("depthwise conv2d 3x3, 256 ch, 64x64",
         lambda: F.conv2d(xd, wd, padding=1, groups=256), 2 * 256 * 9 * 64 * 64),
        ("conv3d input gradient 16->32, 8x4x128x128",
         lambda: torch.nn.grad.conv3d_input(xi.shape, wi, dy, padding=1),
         2 * 8 * 16 * 32 * 27 * 4 * 128 * 128),
        ("conv3d weight gradient 16->32, 8x4x128x128",
         lambda: torch.nn.grad.conv3d_weight(xi, wi.shape, dy, padding=1),
         2 * 8 * 16 * 32 * 27 * 4 * 128 * 128),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--tile", type=int, default=256)
    args = ap.parse_args()
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    run = timer(dev)
    rows = []
    modes = [("fp32", None), ("autocast bf16", torch.bfloat16)]
    with torch.no_grad():
        for name, fn, flop in kernel_cases(dev):
            for mode, dtype in modes:
                with torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
                    ms = run(fn, args.reps)
                rows.append({"name": name, "mode": mode, "ms": ms, "gflops": flop / ms / 1e6})
        for family in [f for f in args.families.split(",") if f]:
            model = family_model(family, args.tile)
            model = model.to(dev).eval()
            x = torch.rand(1, 1, 16, args.tile, args.tile, device=dev)
            for mode, dtype in modes:
                with torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
                    ms = run(lambda: model(x), args.reps)
                rows.append({"name": f"{family} forward, 1x1x16x{args.tile}x{args.tile}",
                             "mode": mode, "ms": ms})
            del model
            if dev.type == "cuda":
                torch.cuda.empty_cache()
    info = {
        "device": torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "rows": rows,
    }
    with open(args.json, "w") as f:
        json.dump(info, f, indent=1)
    for r in rows:
        print(f"{r['name']:<50} {r['mode']:<14} {r['ms']:9.3f} ms"
              + (f" {r['gflops']:9.1f} GFLOP/s" if "gflops" in r else ""))


if __name__ == "__main__":
    main()
