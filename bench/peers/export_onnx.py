#!/usr/bin/python3
"""Exports the peer benchmark's cases as ONNX models, with a manifest.

Each case is one of our production kernels at the shape `bench/networks.ts`
and `bench/kernel_cases.ts` time it at, written as a one-op PyTorch module,
plus the CNN3D + SegFormer mit-b0 forward at a 256 x 256 tile of 16 layers
(the reference model of the fixture generator, random weights). The peers
(`bench/peers/peers.ts`) run these files with onnxruntime-web (WebGPU) and
onnxruntime-node (CPU), and rebuild the single ops in tfjs-webgpu from the
manifest's `op` and `params`. The shapes live here only.

Usage: /usr/bin/python3 bench/peers/export_onnx.py OUT_DIR
"""

import json
import os
import sys

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "fixtures", "networks"))
from reference_models import CNN3D_Segformer, mit_config  # noqa: E402


class Linear(nn.Module):
    def __init__(self, k, n):
        super().__init__()
        self.fc = nn.Linear(k, n, bias=False)

    def forward(self, x):
        return self.fc(x)


class LayerNorm(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.LayerNorm(c)

    def forward(self, x):
        return self.norm(x)


class Gelu(nn.Module):
    def forward(self, x):
        return nn.functional.gelu(x)


def cases():
    """(name, op, params, module, input shape, FLOPs) per case."""
    yield ("conv3d 3x3x3 16->16, 16x128x128", "conv3d", {"stride": 1, "padding": 1},
           nn.Conv3d(16, 16, 3, padding=1, bias=False), [1, 16, 16, 128, 128],
           2 * 16 * 16 * 27 * 16 * 128 * 128)
    yield ("conv2d 3x3 s2 64->128, 128x128", "conv2d", {"stride": 2, "padding": 1, "groups": 1},
           nn.Conv2d(64, 128, 3, stride=2, padding=1, bias=False), [1, 64, 128, 128],
           2 * 128 * 64 * 9 * 64 * 64)
    yield ("conv2d 7x7 s4 32->64, 256x256 (MiT patch embedding 1)", "conv2d",
           {"stride": 4, "padding": 3, "groups": 1},
           nn.Conv2d(32, 64, 7, stride=4, padding=3, bias=False), [1, 32, 256, 256],
           2 * 64 * 32 * 49 * 64 * 64)
    yield ("depthwise conv2d 3x3, 256 ch, 64x64 (Mix-FFN)", "conv2d",
           {"stride": 1, "padding": 1, "groups": 256},
           nn.Conv2d(256, 256, 3, padding=1, groups=256, bias=False), [1, 256, 64, 64],
           2 * 256 * 9 * 64 * 64)
    yield ("matmul 4096 x 256 by 256 x 256", "matmul", {},
           Linear(256, 256), [4096, 256], 2 * 4096 * 256 * 256)
    yield ("layer_norm 4096 tokens x 64", "layer_norm", {}, LayerNorm(64), [4096, 64],
           8 * 4096 * 64)
    yield ("gelu 4096 x 256", "gelu", {}, Gelu(), [4096, 256], 8 * 4096 * 256)
    model = CNN3D_Segformer(mit_config("b0", num_channels=32), out_channels=32)
    yield ("cnn3d + mit-b0 forward, 1x1x16x256x256", "model", {}, model, [1, 1, 16, 256, 256],
           None)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    manifest = []
    for i, (name, op, params, module, shape, flop) in enumerate(cases()):
        module.eval()
        path = os.path.join(out, f"case{i}.onnx")
        weights = {k: v.detach().numpy() for k, v in module.state_dict().items()}
        with torch.no_grad():
            torch.onnx.export(module, torch.randn(*shape), path, input_names=["x"],
                              output_names=["y"], opset_version=17)
        entry = {"name": name, "op": op, "params": params, "file": os.path.basename(path),
                 "input": shape, "flop": flop}
        if op != "model":
            # The single ops' weights, for tfjs (float32, PyTorch layout).
            (key, w), = [(k, v) for k, v in weights.items() if k.endswith("weight")] or [(None, None)]
            if w is not None:
                wpath = os.path.join(out, f"case{i}.weight.f32")
                w.astype("float32").tofile(wpath)
                entry["weight"] = {"file": os.path.basename(wpath), "shape": list(w.shape)}
        manifest.append(entry)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"wrote {len(manifest)} cases to {out}")


if __name__ == "__main__":
    main()
