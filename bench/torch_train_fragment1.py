"""PyTorch reference of the real-data training benchmark (BENCHMARKS.md,
"Training on real data"; bench/pipelines/train_fragment1.yaml), used to
choose a training recipe for our WebGPU trainer.

It trains CNN3D + SegFormer mit-b0 (32 channels, depth 4) from scratch on
rows 0..1100 of ../shared/data/fragment1-16um and validates after each epoch
on rows 1100..1636, mirroring train/trainer.ts, train/data.ts,
train/schedule.ts and postprocess/metrics.ts:

- data: uint16 voxels -> (v >> 8) / 255; each row band padded as the seed
  pads (`dim + tile - dim % tile`, zeros), so no tile reads the other split;
- tiles: origins range(0, padded - tile + 1, stride) on both axes, kept when
  some voxel is non-zero after `>> 8` and, with --min-mask, when at least
  that fraction of the tile is papyrus (tileGrid); each epoch the kept tiles
  are shuffled (with --balance: every tile of the rarer kind, ink / no ink,
  and as many of the other), cut into batches (last partial batch dropped),
  and at most --steps-per-epoch batches are used (epochOrder, stepsIn);
- augmentation: HorizontalFlip, VerticalFlip, RandomRotate90 (k in 0..3),
  each with its probability, per tile, image and label alike;
- loss: 0.5 BCE-with-logits + 0.5 smp soft Dice over the whole batch (the
  seed's); --loss-mask is the trainer's `loss_mask` (papyrus pixels only),
  --pos-weight a recipe change it does not have;
- optimiser: AdamW, global gradient-norm clip, learning rate per epoch from
  the seed's schedule (seedLr: epochs 0-1 at peak / warmup_factor, 2-3 at the
  peak, then cosine over T_max = epochs from epoch 2, floor 1e-7);
- model: the trainer's initialisation (--init hf: SegFormer Linear/Conv2d
  normal(0, 0.02), biases 0; 3D encoder and upscalers PyTorch defaults) or
  PyTorch's defaults everywhere (--init torch); dropouts off (the trainer
  applies none); BatchNorm in train mode while training, eval mode (running
  statistics) for validation;
- validation: every kept tile on a stride of --valid-stride (no min-mask
  rule), sigmoid probabilities of overlapping tiles blended by geometric
  mean, uncovered pixels 0; F0.5 over papyrus-mask pixels with the seed's
  smoothed formula, best over thresholds 0.10..1.00 step 0.05 (first best).

Prints one line per epoch and, last, one JSON line with the settings and
results. Always runs PyTorch on --threads threads (default 1).

Run: /usr/bin/python3 bench/torch_train_fragment1.py --lr 1e-3 --epochs 6
"""
import argparse
import json
import math
import os
import sys
import time

import cv2
import numpy as np
import tifffile
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures", "networks"))
sys.dont_write_bytecode = True

from reference_models import CNN3D_Segformer, mit_config  # noqa: E402

THRESHOLDS = np.array(range(10, 101, 5)) / 100


# ----------------------------------------------------------------------------
# Data (train/data.ts)
# ----------------------------------------------------------------------------


def seed_padded(dim, tile):
    return dim + tile - dim % tile


def load_fragment(path, layers):
    vox = np.stack([
        tifffile.imread(os.path.join(path, "surface_volume", f"{i:02d}.tif")) for i in range(layers)
    ])
    assert vox.dtype == np.uint16, vox.dtype
    vox8 = (vox >> 8).astype(np.uint8)  # the seed's 16 -> 8 bit
    mask = (cv2.imread(os.path.join(path, "mask.png"), cv2.IMREAD_GRAYSCALE) > 0).astype(np.uint8)
    ink = (cv2.imread(os.path.join(path, "inklabels.png"), cv2.IMREAD_GRAYSCALE) > 0).astype(np.uint8)
    return vox8, mask, ink


class Region:
    """Rows [y0, y1) of the fragment, zero-padded to the seed's padded size."""

    def __init__(self, vox8, mask, ink, y0, y1, tile):
        d, _, w = vox8.shape
        self.y0, self.y1, self.height, self.width = y0, y1, y1 - y0, w
        ph, pw = seed_padded(self.height, tile), seed_padded(w, tile)
        self.vox = np.zeros((d, ph, pw), np.float32)
        self.vox[:, :self.height, :w] = vox8[:, y0:y1] / np.float32(255)
        self.any = np.zeros((ph, pw), np.int64)
        self.any[:self.height, :w] = (vox8[:, y0:y1] > 0).any(axis=0)
        self.mask = np.zeros((ph, pw), np.uint8)
        self.mask[:self.height, :w] = mask[y0:y1]
        self.ink = np.zeros((ph, pw), np.uint8)
        self.ink[:self.height, :w] = ink[y0:y1]


def tile_grid(r, tile, stride, min_mask=0.0):
    """(y, x, has_ink, mask_fraction) of the kept tiles, as tileGrid."""
    ph, pw = r.vox.shape[1:]
    out = []
    for y in range(0, ph - tile + 1, stride):
        for x in range(0, pw - tile + 1, stride):
            if r.any[y:y + tile, x:x + tile].sum() == 0:
                continue
            cover = r.mask[y:y + tile, x:x + tile].sum() / (tile * tile)
            if min_mask > 0 and cover < min_mask:
                continue
            out.append((y, x, bool(r.ink[y:y + tile, x:x + tile].any()), cover))
    return out


def epoch_order(tiles, rng, balance):
    if not balance:
        return [tiles[i] for i in rng.permutation(len(tiles))]
    ink = [t for t in tiles if t[2]]
    rest = [t for t in tiles if not t[2]]
    few, many = (ink, rest) if len(ink) <= len(rest) else (rest, ink)
    if not few:
        return [tiles[i] for i in rng.permutation(len(tiles))]
    many = [many[i] for i in rng.permutation(len(many))][:len(few)]
    both = few + many
    return [both[i] for i in rng.permutation(len(both))]


def batch(r, refs, tile):
    x = np.stack([r.vox[:, y:y + tile, xx:xx + tile] for y, xx, *_ in refs])[:, None]
    t = np.stack([r.ink[y:y + tile, xx:xx + tile] for y, xx, *_ in refs])[:, None]
    m = np.stack([r.mask[y:y + tile, xx:xx + tile] for y, xx, *_ in refs])[:, None]
    return x, t.astype(np.float32), m.astype(np.float32)


def augment(x, t, m, rng, p_h, p_v, p_r):
    """Per tile: HorizontalFlip, VerticalFlip, RandomRotate90, in that order."""
    xs, ts, ms = [], [], []
    for i in range(x.shape[0]):
        a, b, c = x[i], t[i], m[i]  # (1, D, T, T), (1, T, T), (1, T, T)
        if rng.random() < p_h:
            a, b, c = a[..., ::-1], b[..., ::-1], c[..., ::-1]
        if rng.random() < p_v:
            a, b, c = a[..., ::-1, :], b[..., ::-1, :], c[..., ::-1, :]
        if rng.random() < p_r:
            k = int(rng.integers(0, 4))
            a, b, c = (np.rot90(v, k, axes=(-2, -1)) for v in (a, b, c))
        xs.append(a)
        ts.append(b)
        ms.append(c)
    return (np.ascontiguousarray(np.stack(v)) for v in (xs, ts, ms))


# ----------------------------------------------------------------------------
# Model, loss, schedule
# ----------------------------------------------------------------------------


def build_model(init):
    model = CNN3D_Segformer(mit_config("b0", num_channels=32), out_channels=32)
    if init == "hf":  # HF _init_weights on the SegFormer part (train/model.ts initialWeights)
        for mod in model.xy_encoder_2d.modules():
            if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)):
                torch.nn.init.normal_(mod.weight, 0.0, 0.02)
                if mod.bias is not None:
                    torch.nn.init.zeros_(mod.bias)
    for mod in model.modules():
        if isinstance(mod, (torch.nn.Dropout, torch.nn.Dropout2d)):
            mod.p = 0.0
    return model


def dice_loss(z, t, w=None):
    """smp soft Dice (binary, from logits, eps 1e-7) over the whole batch; `w` weights pixels."""
    p = torch.sigmoid(z).flatten(1)
    y = t.flatten(1)
    if w is not None:
        w = w.flatten(1)
        p, y = p * w, y * w
    inter = (p * y).sum()
    card = (p + y).sum()
    loss = 1.0 - 2.0 * inter / card.clamp_min(1e-7)
    return loss * (y.sum() > 0).to(loss.dtype)


def loss_fn(z, t, m, args):
    pw = torch.tensor(args.pos_weight) if args.pos_weight != 1.0 else None
    if args.loss_mask:
        bce = F.binary_cross_entropy_with_logits(z, t, weight=m, pos_weight=pw, reduction="sum")
        bce = bce / m.sum().clamp_min(1.0)
        return args.bce_weight * bce + (1 - args.bce_weight) * dice_loss(z, t, m)
    bce = F.binary_cross_entropy_with_logits(z, t, pos_weight=pw)
    return args.bce_weight * bce + (1 - args.bce_weight) * dice_loss(z, t)


def seed_lr(e, peak, epochs, warmup_factor, floor=1e-7):
    """train/schedule.ts seedLr."""
    if e < 2:
        return peak / warmup_factor
    if e < 4:
        return peak
    return floor + (peak - floor) * (1 + math.cos(math.pi * (e - 2) / epochs)) / 2


# ----------------------------------------------------------------------------
# Validation (trainer.ts validate, postprocess/metrics.ts)
# ----------------------------------------------------------------------------


def seed_fbeta(tp, fp, fn, beta=0.5):
    smooth = 1e-5
    b2 = beta * beta
    p = tp / (tp + fp + smooth)
    r = tp / (tp + fn + smooth)
    return (1 + b2) * p * r / (b2 * p + r + smooth), p, r


@torch.no_grad()
def validate(model, r, tiles, tile, bsz):
    model.eval()
    ph, pw = r.vox.shape[1:]
    log_sum = np.zeros((ph, pw), np.float64)
    count = np.zeros((ph, pw), np.int32)
    for i in range(0, len(tiles), bsz):
        refs = tiles[i:i + bsz]
        x, _, _ = batch(r, refs, tile)
        z = model(torch.from_numpy(x)).double()
        ls = F.logsigmoid(z)[:, 0].numpy()
        for (y, xx, *_), l in zip(refs, ls):
            log_sum[y:y + tile, xx:xx + tile] += l
            count[y:y + tile, xx:xx + tile] += 1
    model.train()
    prob = np.where(count > 0, np.exp(log_sum / np.maximum(count, 1)), 0.0)
    sel = r.mask[:r.height, :r.width] > 0
    p = prob[:r.height, :r.width][sel]
    y = r.ink[:r.height, :r.width][sel] > 0
    best = (0.0, 0.0, 0.0, 0.0)  # f, threshold, precision, recall
    for th in THRESHOLDS:
        pred = p >= th
        tp = float(np.sum(pred & y))
        fp = float(np.sum(pred & ~y))
        fn = float(np.sum(~pred & y))
        f, prec, rec = seed_fbeta(tp, fp, fn)
        if f > best[0]:
            best = (f, th, prec, rec)
    return best


# ----------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "fragment1-16um"))
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--train-rows", type=int, nargs=2, default=[0, 1100])
    ap.add_argument("--valid-rows", type=int, nargs=2, default=[1100, 1636])
    ap.add_argument("--tile", type=int, default=128)
    ap.add_argument("--stride", type=int, default=64)
    ap.add_argument("--valid-stride", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--steps-per-epoch", type=int, default=0, help="0: every tile once")
    ap.add_argument("--max-steps", type=int, default=240, help="refuse recipes above this budget")
    ap.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    ap.add_argument("--warmup-factor", type=float, default=1.0)
    ap.add_argument("--min-lr", type=float, default=1e-7)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--max-grad-norm", type=float, default=100.0)
    ap.add_argument("--hflip", type=float, default=0.5)
    ap.add_argument("--vflip", type=float, default=0.5)
    ap.add_argument("--rot90", type=float, default=0.5)
    ap.add_argument("--min-mask", type=float, default=0.0, help="min papyrus fraction of a training tile")
    ap.add_argument("--balance", action="store_true", help="as many no-ink tiles as ink tiles per epoch")
    ap.add_argument("--loss-mask", action="store_true", help="BCE and Dice over papyrus pixels only")
    ap.add_argument("--pos-weight", type=float, default=1.0, help="BCE pos_weight (1: none)")
    ap.add_argument("--bce-weight", type=float, default=0.5, help="loss = w BCE + (1 - w) Dice")
    ap.add_argument("--init", choices=["hf", "torch"], default="hf")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--name", default="")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()

    vox8, mask, ink = load_fragment(args.data, args.layers)
    tr = Region(vox8, mask, ink, *args.train_rows, args.tile)
    va = Region(vox8, mask, ink, *args.valid_rows, args.tile)
    tiles = tile_grid(tr, args.tile, args.stride, args.min_mask)
    vtiles = tile_grid(va, args.tile, args.valid_stride)
    n_ink = sum(t[2] for t in tiles)
    per_epoch = len(epoch_order(tiles, np.random.default_rng(0), args.balance)) // args.batch
    if args.steps_per_epoch > 0:
        per_epoch = min(per_epoch, args.steps_per_epoch)
    total = per_epoch * args.epochs
    if total > args.max_steps:
        sys.exit(f"{total} steps ({per_epoch} x {args.epochs}) exceed --max-steps {args.max_steps}")
    print(f"{len(tiles)} training tiles ({n_ink} with ink, mean papyrus "
          f"{np.mean([t[3] for t in tiles]):.2f}), {len(vtiles)} validation tiles; "
          f"{per_epoch} steps/epoch x {args.epochs} = {total} steps", flush=True)

    model = build_model(args.init)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8,
                            weight_decay=args.weight_decay)
    history = []
    print("epoch  lr        steps  loss    F0.5    thr   prec   recall  time", flush=True)
    for epoch in range(args.epochs):
        started = time.time()
        lr = seed_lr(epoch, args.lr, args.epochs, args.warmup_factor, args.min_lr)
        for g in opt.param_groups:
            g["lr"] = lr
        order = epoch_order(tiles, rng, args.balance)
        losses = []
        for s in range(per_epoch):
            refs = order[s * args.batch:(s + 1) * args.batch]
            x, t, m = augment(*batch(tr, refs, args.tile), rng, args.hflip, args.vflip, args.rot90)
            x, t, m = torch.from_numpy(x), torch.from_numpy(t), torch.from_numpy(m)
            opt.zero_grad()
            loss = loss_fn(model(x), t, m, args)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm)
            opt.step()
            losses.append(loss.item())
        f, th, prec, rec = validate(model, va, vtiles, args.tile, args.batch)
        rec_ = dict(epoch=epoch, lr=lr, steps=per_epoch, loss=float(np.mean(losses)), f05=f,
                    threshold=float(th), precision=prec, recall=rec, seconds=time.time() - started)
        history.append(rec_)
        print(f"{epoch:<6d} {lr:.2e}  {per_epoch:<6d} {rec_['loss']:.4f}  {f:.4f}  {th:.2f}  "
              f"{prec:.3f}  {rec:.3f}   {rec_['seconds']:.0f} s", flush=True)
    best = max(history, key=lambda h: h["f05"])
    print(json.dumps({
        "name": args.name,
        "args": {k: v for k, v in vars(args).items() if k not in ("data",)},
        "train_tiles": len(tiles), "ink_tiles": n_ink, "valid_tiles": len(vtiles),
        "steps": total, "wall_s": round(time.time() - t0, 1),
        "best_f05": best["f05"], "best_epoch": best["epoch"],
        "f05_per_epoch": [round(h["f05"], 4) for h in history],
        "history": history,
    }))


if __name__ == "__main__":
    main()
