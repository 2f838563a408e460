"""Ground truth for the PyTorch fixtures: runs a fixture's models in real PyTorch and
reports every tensor addition made on a line of the fixture, with the operand shapes
and whether PyTorch accepted it. Standard library and torch only.

Usage: python3 torch_trace.py FIXTURE.py [MORE.py ...]  -> one JSON object per line
Entry points, as the analyser finds them: the file's own __main__ code, functions
without required parameters that return an nn.Module, and nn.Module classes whose
constructor needs no arguments. Inputs come from `# residual-lens: input=(...)`,
else from the first layer (Conv{1,2,3}d, Linear, Embedding, LayerNorm).
"""
import contextlib
import importlib.util
import io
import inspect
import json
import re
import sys
import traceback

import torch
import torch.nn as nn

FIXTURE = ""
SMALL = {"N": 2, "B": 2, "C": 3, "H": 32, "W": 32, "D": 8, "L": 32, "T": 8}
records = []


def fixture_line():
    frame = inspect.currentframe()
    while frame is not None:
        if frame.f_code.co_filename == FIXTURE:
            return frame.f_lineno
        frame = frame.f_back
    return None


def hook(original, name):
    def wrapper(a, b, *args, **kwargs):
        line = fixture_line()
        both = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)
        if line is None or not both:
            return original(a, b, *args, **kwargs)
        entry = {"line": line, "op": name, "left": list(a.shape), "right": list(b.shape), "ok": True}
        records.append(entry)
        try:
            return original(a, b, *args, **kwargs)
        except RuntimeError as err:
            entry["ok"] = False
            entry["error"] = str(err).splitlines()[0]
            raise
    return wrapper


torch.Tensor.__add__ = hook(torch.Tensor.__add__, "+")
torch.Tensor.__radd__ = hook(torch.Tensor.__radd__, "+")
torch.Tensor.__iadd__ = hook(torch.Tensor.__iadd__, "+=")
torch.Tensor.add = hook(torch.Tensor.add, "add")
torch.Tensor.add_ = hook(torch.Tensor.add_, "add_")
torch.add = hook(torch.add, "torch.add")


def input_comment(source, class_name):
    lines = source.split("\n")
    for i, line in enumerate(lines):
        m = re.search(r"#\s*residual-lens:\s*input\s*=\s*\(([^)]*)\)", line)
        if not m:
            continue
        for j in range(max(0, i - 40), min(len(lines), i + 4)):
            if re.match(r"\s*class\s+" + re.escape(class_name) + r"\b", lines[j]):
                dims = [d.strip() for d in m.group(1).split(",") if d.strip()]
                return [int(d) if d.isdigit() else SMALL.get(d, 4) for d in dims]
    return None


def first_layer_input(model):
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            spatial = {nn.Conv1d: [32], nn.Conv2d: [32, 32], nn.Conv3d: [8, 16, 16]}[type(m)]
            return torch.randn(2, m.in_channels, *spatial)
        if isinstance(m, nn.Embedding):
            return torch.randint(0, m.num_embeddings, (2, 8))
        if isinstance(m, nn.Linear):
            return torch.randn(2, 8, m.in_features)
        if isinstance(m, nn.LayerNorm):
            return torch.randn(2, 8, *m.normalized_shape)
        if isinstance(m, nn.MultiheadAttention):
            return torch.randn(8, 2, m.embed_dim)
    return None


def run_entry(label, make, source):
    result = {"entry": label}
    try:
        model = make()
        if not isinstance(model, nn.Module):
            return None
        dims = input_comment(source, type(model).__name__)
        x = torch.randn(*dims) if dims else first_layer_input(model)
        if x is None:
            result["skipped"] = "no input"
            return result
        model.eval()
        with torch.no_grad():
            model(x)
        result["ok"] = True
    except Exception as err:  # noqa: BLE001 - reported, not hidden
        result["ok"] = False
        result["error"] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    return result


def trace(path):
    global FIXTURE, records
    FIXTURE = path
    records = []
    source = open(FIXTURE).read()
    entries = []
    spec = importlib.util.spec_from_file_location("__main__", FIXTURE)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, FIXTURE.rsplit("/", 1)[0])
    try:
        spec.loader.exec_module(module)
        entries.append({"entry": "__main__", "ok": True})
    except Exception as err:  # noqa: BLE001
        entries.append({"entry": "__main__", "ok": False, "error": f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"})
    for name, value in list(vars(module).items()):
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value):
            params = inspect.signature(value).parameters.values()
            if all(p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
                r = run_entry(name + "()", value, source)
                if r:
                    entries.append(r)
        elif inspect.isclass(value) and issubclass(value, nn.Module) and "forward" in dir(value):
            try:
                params = list(inspect.signature(value.__init__).parameters.values())[1:]
            except (TypeError, ValueError):
                continue
            if all(p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
                entries.append(run_entry(name + "()", value, source))
    return {"file": path, "torch": torch.__version__, "entries": [e for e in entries if e], "adds": records}


if __name__ == "__main__":
    torch.manual_seed(0)
    for path in sys.argv[1:]:
        try:
            # The fixtures' own prints must not mix with the JSON lines.
            with contextlib.redirect_stdout(io.StringIO()):
                result = trace(path)
            print(json.dumps(result), flush=True)
        except Exception:  # noqa: BLE001
            print(json.dumps({"file": path, "fatal": traceback.format_exc()}), flush=True)
