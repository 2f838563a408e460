"""Residual Lens shape verification: imports a model file, instantiates its models the
way the static analysis does, runs a forward pass, and reports the real operand shapes
of every tensor addition made on a line of that file. Standard library and torch only.
This executes the user's code: the extension starts it only in a trusted workspace.

Usage: python3 verify_shapes.py MODEL.py  -> one JSON object on stdout:
  {"torch", "importError"?: {"type", "message", "line"}, "entries": [{"entry", "ok",
   "device", "error"?}], "adds": [{"line", "op", "left", "right", "ok", "error"?, "entry"}]}

Entry points, as the analyser finds them: the file's own code (its __main__ block
included), functions without required parameters that return an nn.Module, and
nn.Module classes whose constructor needs no arguments. The input comes from a
`# residual-lens: input=(...)` comment (names become small sizes), else from the first
layer. Each forward runs on the meta device (no memory, no arithmetic) and falls
back to small CPU tensors where an operator has no meta implementation.
"""
import contextlib
import importlib.util
import inspect
import io
import json
import os
import re
import sys
import traceback

_out = sys.stdout
sys.stdout = sys.stderr  # the model file's prints must not mix with the report

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

MODEL_FILE = os.path.realpath(sys.argv[1]) if len(sys.argv) > 1 else ""
SMALL = {"N": 2, "B": 2, "C": 3, "H": 32, "W": 32, "D": 8, "L": 32, "T": 8}
adds = []
current_entry = ["__main__"]


def model_line():
    """The line when the model file itself makes the addition. Only the direct caller
    counts: torch's own decompositions (used on the meta device) add tensors too."""
    frame = sys._getframe(2)
    if frame is not None and os.path.realpath(frame.f_code.co_filename) == MODEL_FILE:
        return frame.f_lineno
    return None


class AdditionFailed(Exception):
    """Marks an exception raised by an addition itself (a real shape error)."""


def hook(original, op):
    def wrapper(a, b, *args, **kwargs):
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return original(a, b, *args, **kwargs)
        line = model_line()
        if line is None:
            return original(a, b, *args, **kwargs)
        entry = {"line": line, "op": op, "left": list(a.shape), "right": list(b.shape), "ok": True, "entry": current_entry[0]}
        adds.append(entry)
        try:
            return original(a, b, *args, **kwargs)
        except RuntimeError as err:
            entry["ok"] = False
            entry["error"] = str(err).splitlines()[0] if str(err) else type(err).__name__
            err.residual_lens_addition = True
            raise
    return wrapper


def install_hooks():
    torch.Tensor.__add__ = hook(torch.Tensor.__add__, "+")
    torch.Tensor.__radd__ = hook(torch.Tensor.__radd__, "+")
    torch.Tensor.__iadd__ = hook(torch.Tensor.__iadd__, "+=")
    torch.Tensor.add = hook(torch.Tensor.add, "add")
    torch.Tensor.add_ = hook(torch.Tensor.add_, "add_")
    torch.add = hook(torch.add, "torch.add")


def error_line(err):
    """The line of the model file where an exception was raised (SyntaxError: its own line)."""
    if isinstance(err, SyntaxError) and err.filename and os.path.realpath(err.filename) == MODEL_FILE:
        return err.lineno
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if os.path.realpath(frame.filename) == MODEL_FILE:
            line = frame.lineno
    return line


def describe(err):
    text = str(err).splitlines()[0] if str(err) else ""
    return "%s: %s" % (type(err).__name__, text) if text else type(err).__name__


def input_dims(source, class_name):
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


def first_layer_input(model, device):
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            spatial = {nn.Conv1d: [32], nn.Conv2d: [32, 32], nn.Conv3d: [8, 16, 16]}[type(m)]
            return torch.randn(2, m.in_channels, *spatial, device=device)
        if isinstance(m, nn.Embedding):
            return torch.randint(0, m.num_embeddings, (2, 8), device=device)
        if isinstance(m, nn.Linear):
            return torch.randn(2, 8, m.in_features, device=device)
        if isinstance(m, nn.LayerNorm):
            return torch.randn(2, 8, *m.normalized_shape, device=device)
        if isinstance(m, nn.MultiheadAttention):
            return torch.randn(8, 2, m.embed_dim, device=device)
    return None


def run_forward(model, source, device):
    dims = input_dims(source, type(model).__name__)
    x = torch.randn(*dims, device=device) if dims else first_layer_input(model, device)
    if x is None:
        return "no input: give the class a `# residual-lens: input=(N, C, H, W)` comment"
    model.eval()
    with torch.no_grad():
        model(x)
    return None


def run_entry(label, make, source):
    """Meta device first; a missing meta kernel (not a shape error) means CPU instead."""
    result = {"entry": label}
    current_entry[0] = label
    for device in ("meta", "cpu"):
        mark = len(adds)
        try:
            model = make()
            if not isinstance(model, nn.Module):
                return None
            model = model.to(device)
            skipped = run_forward(model, source, device)
            result.update({"ok": skipped is None, "device": device})
            if skipped:
                result["skipped"] = skipped
            return result
        except Exception as err:  # noqa: BLE001 - reported, never hidden
            if device == "meta" and not getattr(err, "residual_lens_addition", False):
                del adds[mark:]  # the CPU run records the additions again
                continue
            result.update({"ok": False, "device": device, "error": describe(err)})
            line = error_line(err)
            if line is not None:
                result["line"] = line
            return result
    return result


def required_parameters(fn, skip_self):
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if skip_self:
        params = params[1:]
    return [p for p in params if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def verify(path):
    source = open(path, encoding="utf-8").read()
    report = {"file": path, "torch": torch.__version__, "entries": [], "adds": adds}
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location("__main__", path)
    module = importlib.util.module_from_spec(spec)
    torch.manual_seed(0)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            spec.loader.exec_module(module)
        report["entries"].append({"entry": "__main__", "ok": True, "device": "cpu"})
    except Exception as err:  # noqa: BLE001
        failure = {"type": type(err).__name__, "message": describe(err), "line": error_line(err)}
        if getattr(err, "residual_lens_addition", False):
            # the file's own code ran a failing addition: a finding, not a broken import
            report["entries"].append({"entry": "__main__", "ok": False, "device": "cpu", "error": failure["message"], "line": failure["line"]})
        else:
            report["importError"] = failure
            if isinstance(err, SyntaxError):
                return report
    for name, value in list(vars(module).items()):
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value):
            required = required_parameters(value, False)
            if required == []:
                r = run_entry(name + "()", value, source)
                if r:
                    report["entries"].append(r)
        elif inspect.isclass(value) and issubclass(value, nn.Module) and value.forward is not nn.Module.forward:
            if required_parameters(value.__init__, True) == []:
                r = run_entry(name + "()", value, source)
                if r:
                    report["entries"].append(r)
    return report


if __name__ == "__main__":
    if not MODEL_FILE:
        print("usage: verify_shapes.py MODEL.py", file=sys.stderr)
        sys.exit(2)
    install_hooks()
    try:
        result = verify(MODEL_FILE)
    except Exception:  # noqa: BLE001
        result = {"file": MODEL_FILE, "fatal": traceback.format_exc()}
    _out.write(json.dumps(result) + "\n")
    _out.flush()
