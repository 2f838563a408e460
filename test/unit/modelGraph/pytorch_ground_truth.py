"""Ground truth for the PyTorch "Probe This Model" fixtures: builds each model the way
its `# expect-graph: build=` line says, in real PyTorch, and prints one JSON line per
file with `sum(p.numel() for p in model.parameters())` and the output shape."""
import importlib.util
import json
import re
import sys

import torch


def expectations(text):
    found = {}
    for line in text.splitlines():
        m = re.match(r"#\s*expect-graph:\s*(.*)$", line)
        if not m:
            continue
        body = m.group(1)
        for key, value in re.findall(r'([\w-]+)=("[^"]*"|(?:[^\s(\[]|\([^)]*(?:\([^)]*\))?[^)]*\)|\[[^\]]*\])+)', body):
            found[key] = value.strip('"')
    return found


def main(paths):
    torch.manual_seed(0)
    for path in paths:
        record = {"file": path}
        try:
            with open(path) as f:
                expect = expectations(f.read())
            if "build" not in expect:
                record["skipped"] = "no build="
                print(json.dumps(record), flush=True)
                continue
            spec = importlib.util.spec_from_file_location("probe_fixture", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            model = eval(expect["build"], module.__dict__)
            model.eval()
            shape = tuple(int(d) for d in re.findall(r"\d+", expect["input"]))
            if "tokens" in expect:
                x = torch.randint(0, int(expect["tokens"]), shape)
            else:
                x = torch.randn(*shape)
            with torch.no_grad():
                y = model(x)
            if isinstance(y, (tuple, list)):
                y = y[0]
            record["params"] = sum(p.numel() for p in model.parameters())
            record["output"] = list(y.shape)
        except Exception as err:  # reported, and the test fails on it
            record["error"] = f"{type(err).__name__}: {err}"
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
