"""Golden outputs of the seed's augmentations as albumentations 1.3 computes
them on float32 images, for kernels/augment/fixture_test.ts.

albumentations itself is not installed here; each transform below is the
library's 1.3 functional code (numpy + OpenCV) for the parameters given, so
the fixture pins the semantics the TypeScript reference must follow:
np.rot90 direction, the shift-scale-rotate matrix (getRotationMatrix2D about
(w/2, h/2) plus the shift) and cv2.warpAffine, GaussianBlur with sigma 0,
MotionBlur's cv2.line kernel with filter2D, grid_distortion's maps with
cv2.remap, BORDER_REFLECT_101 everywhere, nearest for masks.

Writes augment_fixture.safetensors beside this file (about 120 KB).
Run: /usr/bin/python3 kernels/augment/gen_augment_fixture.py
"""

import json
import os
import struct

import cv2
import numpy as np

T = 32
C = 2  # image channels (the seed's depth slices), HWC as albumentations sees them
rng = np.random.RandomState(1234)


def smooth_image(t, c):
    """Low-frequency values in about [0.05, 0.95], so 1/32-pixel coordinate rounding stays small."""
    yy, xx = np.mgrid[0:t, 0:t].astype(np.float64)
    out = np.zeros((t, t, c))
    for ch in range(c):
        v = np.full((t, t), 0.5)
        for _ in range(3):
            fx, fy = rng.uniform(0.5, 2.0, 2) * 2 * np.pi / t
            ph = rng.uniform(0, 2 * np.pi)
            v += 0.14 * np.sin(fx * xx + fy * yy + ph)
        out[..., ch] = v
    return out.astype(np.float32)


def class_mask(t):
    """A class map 0/1/2 of blobs (what the multiclass seed moves with the image)."""
    yy, xx = np.mgrid[0:t, 0:t]
    m = np.zeros((t, t), np.uint8)
    m[(xx - t * 0.3) ** 2 + (yy - t * 0.4) ** 2 < (t * 0.25) ** 2] = 1
    m[(xx - t * 0.65) ** 2 + (yy - t * 0.6) ** 2 < (t * 0.2) ** 2] = 2
    m[rng.rand(t, t) < 0.05] = 2
    return m


def ssr_matrix(angle, scale, dx, dy, h, w):
    # albumentations 1.3 functional.shift_scale_rotate
    center = (w / 2, h / 2)
    matrix = cv2.getRotationMatrix2D(center, angle, scale)
    matrix[0, 2] += dx * w
    matrix[1, 2] += dy * h
    return matrix


def ssr(img, angle, scale, dx, dy, interp):
    h, w = img.shape[:2]
    m = ssr_matrix(angle, scale, dx, dy, h, w)
    return cv2.warpAffine(img, M=m, dsize=(w, h), flags=interp, borderMode=cv2.BORDER_REFLECT_101)


def grid_maps(h, w, num_steps, xsteps, ysteps):
    # albumentations 1.3 functional.grid_distortion, map construction verbatim
    x_step = w // num_steps
    xx = np.zeros(w, np.float32)
    prev = 0
    for idx in range(num_steps + 1):
        x = idx * x_step
        start = int(x)
        end = int(x) + x_step
        if end > w:
            end = w
            cur = w
        else:
            cur = prev + x_step * xsteps[idx]
        xx[start:end] = np.linspace(prev, cur, end - start)
        prev = cur
    y_step = h // num_steps
    yy = np.zeros(h, np.float32)
    prev = 0
    for idx in range(num_steps + 1):
        y = idx * y_step
        start = int(y)
        end = int(y) + y_step
        if end > h:
            end = h
            cur = h
        else:
            cur = prev + y_step * ysteps[idx]
        yy[start:end] = np.linspace(prev, cur, end - start)
        prev = cur
    return xx, yy


def grid(img, xsteps, ysteps, interp):
    h, w = img.shape[:2]
    xx, yy = grid_maps(h, w, 5, xsteps, ysteps)
    map_x, map_y = np.meshgrid(xx, yy)
    return cv2.remap(img, map1=map_x.astype(np.float32), map2=map_y.astype(np.float32),
                     interpolation=interp, borderMode=cv2.BORDER_REFLECT_101)


def motion_kernel(k, x1, y1, x2, y2):
    kernel = np.zeros((k, k), dtype=np.uint8)
    cv2.line(kernel, (x1, y1), (x2, y2), 1, thickness=1)
    return kernel.astype(np.float32) / np.sum(kernel)


def brightness_contrast(img, alpha, beta):
    # _brightness_contrast_adjust_non_uint with beta_by_max, then @clipped (float32 max 1.0)
    return np.clip(img * alpha + beta * 1.0, 0, 1).astype(np.float32)


tensors = {}


def put(name, arr):
    tensors[name] = np.ascontiguousarray(arr)


image = smooth_image(T, C)
mask = class_mask(T)
put("image", image)
put("mask", mask.astype(np.float32))

# flips and rot90 (HorizontalFlip, VerticalFlip, RandomRotate90 = np.rot90(img, k))
put("flip_h_v_k1", np.rot90(image[::-1, ::-1], 1))
put("flip_h_k3", np.rot90(image[:, ::-1], 3))
put("flip_v_k2_mask", np.rot90(mask[::-1], 2).astype(np.float32))

# brightness / contrast with clipping
put("bc_params", np.array([1.2, 0.15], np.float32))
put("bc", brightness_contrast(image, 1.2, 0.15))

# shift-scale-rotate, image bilinear and mask nearest
ssr_cases = [(30.0, 1.05, 0.05, -0.03), (-45.0, 0.9, -0.0625, 0.0625), (12.5, 1.1, 0.0, 0.02)]
for i, (a, s, dx, dy) in enumerate(ssr_cases):
    put(f"ssr{i}_params", np.array([a, s, dx, dy], np.float64).astype(np.float32))
    put(f"ssr{i}_matrix", ssr_matrix(a, s, dx, dy, T, T).astype(np.float32))
    a32, s32, dx32, dy32 = [float(np.float32(v)) for v in (a, s, dx, dy)]
    put(f"ssr{i}_image", ssr(image, a32, s32, dx32, dy32, cv2.INTER_LINEAR))
    put(f"ssr{i}_mask", ssr(mask, a32, s32, dx32, dy32, cv2.INTER_NEAREST).astype(np.float32))

# GaussianBlur, sigma 0 (fixed kernels)
for k in (3, 5, 7):
    put(f"gauss{k}", cv2.GaussianBlur(image, ksize=(k, k), sigmaX=0))

# MotionBlur kernels via cv2.line, applied with filter2D
motion_cases = [(5, 0, 1, 4, 3), (7, 6, 0, 1, 6), (3, 1, 0, 1, 2), (7, 2, 5, 2, 0)]
for i, (k, x1, y1, x2, y2) in enumerate(motion_cases):
    put(f"motion{i}_line", np.array([k, x1, y1, x2, y2], np.float32))
    put(f"motion{i}", cv2.filter2D(image, ddepth=-1, kernel=motion_kernel(k, x1, y1, x2, y2)))

# GridDistortion at T = 32 and at T = 40 (a multiple of num_steps)
image40 = smooth_image(40, C)
mask40 = class_mask(40)
put("image40", image40)
put("mask40", mask40.astype(np.float32))
for name, img, msk in (("grid", image, mask), ("grid40", image40, mask40)):
    xs = (1 + rng.uniform(-0.3, 0.3, 6)).astype(np.float32).astype(np.float64)
    ys = (1 + rng.uniform(-0.3, 0.3, 6)).astype(np.float32).astype(np.float64)
    h = img.shape[0]
    mx, my = grid_maps(h, h, 5, xs, ys)
    put(f"{name}_steps", np.stack([xs, ys]).astype(np.float32))
    put(f"{name}_maps", np.stack([mx, my]))
    put(f"{name}_image", grid(img, xs, ys, cv2.INTER_LINEAR))
    put(f"{name}_mask", grid(msk, xs, ys, cv2.INTER_NEAREST).astype(np.float32))

# The whole chain in the seed's order (no noise: its generator is ours)
chain = dict(alpha=0.85, beta=-0.1, drop=1, ssr=(-20.0, 0.95, 0.03, 0.01), gk=5,
             xs=[1.1, 0.8, 1.25, 0.9, 1.05, 1.0], ys=[0.75, 1.2, 1.0, 1.3, 0.85, 1.0], hole=(5, 20, 3))
put("chain_params", np.array([chain["alpha"], chain["beta"], chain["drop"], *chain["ssr"], chain["gk"],
                              *chain["xs"], *chain["ys"], *chain["hole"]], np.float32))
ci = image[:, ::-1]  # hflip
cm = mask[:, ::-1]
ci = np.rot90(ci, 2)
cm = np.rot90(cm, 2)
ci = brightness_contrast(ci, np.float32(chain["alpha"]), np.float32(chain["beta"]))
ci = ci.copy()
ci[..., chain["drop"]] = 0
a, s, dx, dy = [float(np.float32(v)) for v in chain["ssr"]]
ci = ssr(np.ascontiguousarray(ci), a, s, dx, dy, cv2.INTER_LINEAR)
cm = ssr(np.ascontiguousarray(cm), a, s, dx, dy, cv2.INTER_NEAREST)
ci = cv2.GaussianBlur(ci, ksize=(chain["gk"], chain["gk"]), sigmaX=0)
xs = [float(np.float32(v)) for v in chain["xs"]]
ys = [float(np.float32(v)) for v in chain["ys"]]
ci = grid(ci, xs, ys, cv2.INTER_LINEAR)
cm = grid(cm, xs, ys, cv2.INTER_NEAREST)
hx, hy, hs = chain["hole"]
ci[hy:hy + hs, hx:hx + hs] = 0
cm[hy:hy + hs, hx:hx + hs] = 0
put("chain_image", ci)
put("chain_mask", cm.astype(np.float32))

# Every cv2.line kernel for k = 3, 5, 7 in (x1, y1, x2, y2) lexicographic order,
# each row a bit mask (bit j = column j).
for k in (3, 5, 7):
    rows = []
    for x1 in range(k):
        for y1 in range(k):
            for x2 in range(k):
                for y2 in range(k):
                    m = np.zeros((k, k), np.uint8)
                    cv2.line(m, (x1, y1), (x2, y2), 1, thickness=1)
                    rows.append([int(sum(int(m[r, j]) << j for j in range(k))) for r in range(k)])
    put(f"lines{k}", np.array(rows, np.uint8))


def write_safetensors(path, items):
    header = {}
    blobs = []
    offset = 0
    for name, arr in items.items():
        dtype = {np.dtype(np.float32): "F32", np.dtype(np.uint8): "U8"}[arr.dtype]
        data = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":"))
    text += " " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text.encode())
        for b in blobs:
            f.write(b)


for k, v in list(tensors.items()):
    if v.dtype == np.float64:
        tensors[k] = v.astype(np.float32)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "augment_fixture.safetensors")
write_safetensors(out, tensors)
print(f"wrote {out} ({os.path.getsize(out)} bytes, {len(tensors)} tensors)")
