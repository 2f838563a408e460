"""GPU figures of the PyTorch probe runner, run directly with Python (no Node needed):
residual networks of the default probe's sizes at depths 20, 56 and 110 on cuda:0,
ms/step and achieved TFLOP/s against the GPU's FP32 peak. Prints figures, not pass/fail.

  python3 bench/torch_gpu_probe.py [--steps 60] [--width 8] [--batch 32] [--peak-tflops X]

The runner (src/torch/python/probe_runner.py) is imported as a module; its messages
go to a list instead of stdout. On a machine without CUDA it says so and runs on the CPU.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "torch", "python"))
import probe_runner  # noqa: E402

sys.stdout = sys.__stdout__  # the runner sends its messages to stdout when run as a process; here they go to a list

# Dense FP32 (no tensor cores) peaks in TFLOP/s, from the vendors' data sheets.
# torch lets cuDNN use TF32 tensor cores for convolutions by default, so a share of the
# FP32 peak is the conservative reading.
FP32_PEAK_TFLOPS = {"H100 80GB HBM3": 67.0, "H100 PCIe": 51.0, "H200": 67.0, "A100": 19.5, "L4": 30.3, "A10": 31.2, "T4": 8.1}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--input", type=int, default=16)
    parser.add_argument("--depths", default="20,56,110")
    parser.add_argument("--peak-tflops", type=float, default=0.0)
    args = parser.parse_args()
    import torch

    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device: CPU"
    peak = args.peak_tflops or next((v for k, v in FP32_PEAK_TFLOPS.items() if k in name), 0.0)
    print("torch %s on %s; FP32 peak %s" % (torch.__version__, name, ("%.1f TFLOP/s" % peak) if peak else "unknown (--peak-tflops)"))
    print("variant        ms/step (median, after 5)   TFLOP/s   % of peak   final loss   device")
    for depth in [int(d) for d in args.depths.split(",")]:
        for architecture in ("plain", "residual"):
            variant = {"id": "%s-%d" % (architecture, depth), "label": "", "architecture": architecture, "depth": depth, "shortcut": "A", "batchNorm": True, "width": args.width}
            plan = {
                "version": 1, "variants": [variant], "inputSize": args.input, "inputChannels": 3, "classes": 10, "batchSize": args.batch,
                "optimizer": "adam", "learningRate": 1e-3, "momentum": 0.9, "steps": args.steps, "timeBudgetMs": 0, "gradientEvery": 1000000, "seed": 1, "backend": "auto",
            }
            messages = []
            probe_runner.send = messages.append
            controls = probe_runner.Controls()
            controls.resumed.set()
            probe_runner.run({"type": "run", "plan": plan, "variant": variant["id"]}, controls)
            started = next(m for m in messages if m["type"] == "started")
            done = next((m for m in messages if m["type"] == "done"), None)
            times = sorted(m["ms"] for m in messages if m["type"] == "step" and m["step"] >= 5)
            ms = times[len(times) // 2] if times else float("nan")
            tflops = started["flopsPerStep"] / (ms / 1000) / 1e12
            share = ("%.2f%%" % (100 * tflops / peak)) if peak else "-"
            final = done["finalLoss"] if done else float("nan")
            print("%-14s %10.2f %26.3f %11s %12.3f   %s" % (variant["id"], ms, tflops, share, final, started["device"]))
            for note in started.get("notes", []):
                print("  note: %s" % note)


if __name__ == "__main__":
    main()
