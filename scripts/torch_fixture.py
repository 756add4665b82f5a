#!/usr/bin/env python3
"""PyTorch side of the checkpoint interchange test.

make DIR   writes, from real PyTorch, DIR/torch_4_tanh8_3.safetensors (the state_dict of
           nn.Sequential(Linear(4, 8), Tanh(), Linear(8, 3)) seeded with torch.manual_seed(0))
           and DIR/torch_4_tanh8_3_io.safetensors (inputs `x`, 5×4, and the model's `logits`).
           tests/checkpoint.rs loads them into `4 -> tanh 8 -> 3 : nll` and compares.
check CKPT IO
           loads a checkpoint written by mlp (strictly: names and shapes must match) into the
           same PyTorch model, runs IO's `x` through it and compares with IO's `logits`
           (written by `cargo run --example export_check`).

Needs torch (the peers' venv, ../shared/peers/README.md). The safetensors format is written and
read here by hand (8-byte header length, JSON header, raw little-endian data), so the
`safetensors` Python package is not needed.
"""
import json
import struct
import sys

import torch
from torch import nn


def write(path, tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        data = t.detach().contiguous().to(torch.float32).numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: {info['dtype']}"
        b, e = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[b:e]), dtype=torch.float32).reshape(info["shape"])
    return out


def model():
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))


def make(folder):
    torch.manual_seed(0)
    m = model()
    x = torch.randn(5, 4)
    with torch.no_grad():
        logits = m(x)
    write(f"{folder}/torch_4_tanh8_3.safetensors", m.state_dict(), {"format": "pt"})
    write(f"{folder}/torch_4_tanh8_3_io.safetensors", {"x": x, "logits": logits})
    print(f"wrote {folder}/torch_4_tanh8_3.safetensors and ..._io.safetensors (torch {torch.__version__})")


def check(ckpt, io):
    m = model()
    state = {k: v for k, v in read(ckpt).items() if not k.startswith("optimizer.")}
    m.load_state_dict(state, strict=True)
    data = read(io)
    with torch.no_grad():
        got = m(data["x"])
    diff = (got - data["logits"]).abs().max().item()
    print(f"PyTorch {torch.__version__} loaded {ckpt}: max |logit difference| = {diff:.3g}")
    sys.exit(0 if diff < 1e-5 else 1)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
