#!/usr/bin/python3
"""Trains the demo anomaly model: a small convolutional autoencoder on the synthetic camera's
good frames, exported to ONNX (opset 11, what OpenCV 4.6's dnn importer reads) with the
model.json metadata the runtime needs.

Frames come from edgefleet-synthcam, the runtime's own renderer and input fitting, so the model
sees exactly what the runtime will feed it. Training frames use indices from 1,000,000 on, so
the runtime's and the tests' frames (from 0) are unseen. The anomaly score is the largest local
mean of the squared reconstruction error (a 5x5 window), which keeps a small scratch from being
averaged away over the whole frame; the threshold sits above every validation good frame.

Uses Debian's python3-torch and python3-onnx only. Run through scripts/setup.d/50-model.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

WIDTH, HEIGHT = 64, 64
SCALE = 1.0 / 255.0
MEAN, STD = 0.5, 0.25


def render(synthcam, out_dir, first, count, seed, defect_rate, jitter):
    subprocess.run(
        [synthcam, "--out", out_dir, "--format", "raw", "--fit", f"{WIDTH}x{HEIGHT}:gray",
         "--first", str(first), "--count", str(count), "--seed", str(seed),
         "--defect-rate", str(defect_rate), "--exposure-jitter", str(jitter)],
        check=True)
    with open(os.path.join(out_dir, "frames.json")) as f:
        index = json.load(f)
    raw = np.fromfile(os.path.join(out_dir, "frames.u8"), dtype=np.uint8)
    frames = raw.reshape(index["count"], 1, index["height"], index["width"]).astype(np.float32)
    return torch.from_numpy((frames * SCALE - MEAN) / STD), index["labels"]


class AutoEncoder(nn.Module):
    # Nearest upsampling + 3x3 convolutions rather than transposed convolutions: Debian's CPU
    # torch runs those several times slower, and this keeps training within a couple of minutes.
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),    # 32x32
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),   # 16x16
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),  # 8x8
            nn.Conv2d(32, 8, 1))                                   # bottleneck 8x8x8
        self.decoder = nn.Sequential(
            nn.Upsample(scale_factor=2), nn.Conv2d(8, 32, 3, padding=1), nn.ReLU(),   # 16x16
            nn.Upsample(scale_factor=2), nn.Conv2d(32, 8, 3, padding=1), nn.ReLU(),   # 32x32
            nn.Upsample(scale_factor=2), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),    # 64x64
            nn.Conv2d(8, 1, 3, padding=1))

    def forward(self, x):
        return self.decoder(self.encoder(x))


class Scorer(nn.Module):
    """What is exported: image -> (score, anomaly_map)."""

    def __init__(self, autoencoder):
        super().__init__()
        self.autoencoder = autoencoder

    def forward(self, image):
        error = (image - self.autoencoder(image)) ** 2
        anomaly_map = F.avg_pool2d(error, 5, stride=1, padding=2)
        score = F.adaptive_max_pool2d(anomaly_map, 1)
        return score, anomaly_map


def scores(scorer, frames):
    with torch.no_grad():
        return torch.cat([scorer(frames[i:i + 256])[0].flatten()
                          for i in range(0, len(frames), 256)]).numpy()


def write_atomic(path, data):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--synthcam", required=True, help="path to edgefleet-synthcam")
    parser.add_argument("--out", required=True, help="model directory to write")
    parser.add_argument("--version", default="ae-1")
    parser.add_argument("--scene-seed", type=int, default=1, help="the synthetic camera's seed")
    parser.add_argument("--train-seed", type=int, default=7, help="torch's seed")
    parser.add_argument("--frames", type=int, default=1200)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--source-hash", default="", help="recorded in info, for up-to-date checks")
    args = parser.parse_args()

    torch.manual_seed(args.train_seed)
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        train, _ = render(args.synthcam, os.path.join(tmp, "train"), 1_000_000, args.frames,
                          args.scene_seed, 0.0, 0.1)
        good, _ = render(args.synthcam, os.path.join(tmp, "good"), 2_000_000, 400,
                         args.scene_seed, 0.0, 0.1)
        bad, bad_labels = render(args.synthcam, os.path.join(tmp, "bad"), 3_000_000, 300,
                                 args.scene_seed, 1.0, 0.1)

    autoencoder = AutoEncoder()
    optimizer = torch.optim.Adam(autoencoder.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs)
    for _ in range(args.epochs):
        permutation = torch.randperm(len(train))
        for i in range(0, len(train), 32):
            batch = train[permutation[i:i + 32]]
            loss = F.mse_loss(autoencoder(batch), batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()

    scorer = Scorer(autoencoder).eval()
    good_scores, bad_scores = scores(scorer, good), scores(scorer, bad)
    threshold = float(good_scores.max()) * 1.10
    caught = float((bad_scores > threshold).mean())
    per_kind = {kind: float((bad_scores[[l == kind for l in bad_labels]] > threshold).mean())
                for kind in sorted(set(bad_labels))}
    auroc = float((bad_scores[:, None] > good_scores[None, :]).mean())

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    with tempfile.NamedTemporaryFile(dir=args.out, prefix=".tmp-", delete=False) as f:
        tmp_onnx = f.name
    torch.onnx.export(scorer, torch.zeros(1, 1, HEIGHT, WIDTH), tmp_onnx, opset_version=11,
                      input_names=["image"], output_names=["score", "anomaly_map"],
                      do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(tmp_onnx))
    os.chmod(tmp_onnx, 0o644)
    os.replace(tmp_onnx, onnx_path)

    metadata = {
        "format": 1,
        "name": "synthetic-plate-autoencoder",
        "version": args.version,
        "onnx": "model.onnx",
        "input": {"name": "image", "width": WIDTH, "height": HEIGHT, "color": "gray",
                  "scale": SCALE, "mean": [MEAN], "std": [STD]},
        "outputs": {"score": "score", "anomaly_map": "anomaly_map"},
        "threshold": threshold,
        "info": {
            "trained_on": f"edgefleet-synthcam seed {args.scene_seed}, {args.frames} good frames "
                          f"from index 1000000, exposure jitter 0.1",
            "epochs": args.epochs,
            "torch": torch.__version__,
            "validation": {
                "good_frames": len(good_scores), "defective_frames": len(bad_scores),
                "good_score_max": float(good_scores.max()),
                "good_score_mean": float(good_scores.mean()),
                "defective_score_median": float(np.median(bad_scores)),
                "defects_caught": caught, "defects_caught_by_kind": per_kind, "auroc": auroc},
            "source_hash": args.source_hash,
        },
    }
    write_atomic(os.path.join(args.out, "model.json"),
                 (json.dumps(metadata, indent=2) + "\n").encode())
    print(f"model {args.version}: trained in {time.time() - started:.0f} s, threshold "
          f"{threshold:.5f}, defects caught {caught:.1%} {per_kind}, AUROC {auroc:.3f}")


if __name__ == "__main__":
    sys.exit(main())
