"""Minimal safetensors writer/reader (no dependency on the `safetensors` package).

File layout:
  * 8 bytes: little-endian u64 N = length of the JSON header
  * N bytes: JSON header (UTF-8), padded with spaces so that 8 + N is a
    multiple of 8.  Keys: "__metadata__" (str -> str map) and one entry per
    tensor {"dtype": "F32"|"F16"|"BF16", "shape": [...],
    "data_offsets": [begin, end]} with offsets relative to the start of the
    data section (right after the header).  Keys are written sorted and
    tensors are laid out in that same order, back to back.
  * raw little-endian, row-major (C-contiguous) tensor data.
"""
import json
import struct

import torch

_DTYPES = {torch.float32: ("F32", 4), torch.float16: ("F16", 2), torch.bfloat16: ("BF16", 2)}
_NAMES = {v[0]: k for k, v in _DTYPES.items()}


def _raw_bytes(t):
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.float16:
        return t.numpy().astype("<f2").tobytes()
    return t.numpy().astype("<f4").tobytes()


def save_file(tensors, path, metadata=None):
    """tensors: dict name -> torch tensor (float32 / float16 / bfloat16)."""
    header = {"__metadata__": dict(metadata or {"format": "pt"})}
    blobs, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name]
        if t.dtype not in _DTYPES:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        data = _raw_bytes(t)
        header[name] = {"dtype": _DTYPES[t.dtype][0], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    hdr = json.dumps(header, separators=(",", ":"), sort_keys=False).encode("utf-8")
    hdr += b" " * ((8 - (8 + len(hdr)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hdr)))
        f.write(hdr)
        for b in blobs:
            f.write(b)


def load_file(path):
    """Returns (dict name -> torch tensor in the stored dtype, metadata)."""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8:8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {})
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = bytearray(buf[base + b:base + e])
        dt = _NAMES[info["dtype"]]
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype=dt)
        out[name] = t.reshape(info["shape"]).clone()
    return out, meta
