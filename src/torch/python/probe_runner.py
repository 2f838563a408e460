"""Residual Lens probe runner for PyTorch: trains one variant of a probe plan and
writes the same messages as the TensorFlow.js worker (src/core/probe/protocol.ts),
one JSON object per line on stdout. Standard library and torch only.

Input on stdin, one JSON object per line: first {"type": "run", "plan": ..., "variant":
..., "holdAfterInit": bool}, later {"type": "resume"} or {"type": "cancel"}. A closed
stdin means the host is gone: the runner exits.

The network, the initial weights and the synthetic batches follow the TypeScript
sources exactly (network.ts, model.ts, synthetic.ts): the same layer names and order,
the same seeded generator, so the charts of both engines line up and a seed gives the
same initial weights on both.

Run by hand (e.g. on a GPU machine):
  echo '{"type":"run","plan":{...},"variant":"residual-56"}' | python3 probe_runner.py
"""
import json
import math
import os
import signal
import sys
import threading
import time

# Everything torch or Python prints goes to stderr; stdout carries messages only.
_message_out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
sys.stdout = sys.stderr

MASK32 = 0xFFFFFFFF
DIVERGED_LOSS = 1e6
FINAL_LOSS_WINDOW = 10
BATCH_NORM_EPSILON = 1e-5

_send_lock = threading.Lock()


def _finite(value):
    """JSON has no NaN or Infinity: they become null, as JSON.stringify does over IPC."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def send(message):
    line = json.dumps(_finite(message), allow_nan=False)
    with _send_lock:
        _message_out.write(line + "\n")
        _message_out.flush()


# --- the seeded generator of src/core/probe/synthetic.ts ----------------------------


def imul(a, b):
    return (a * b) & MASK32


def mix_seed(a, b):
    h = imul((a & MASK32) ^ 0x9E3779B9, 0x85EBCA6B)
    h = imul(h ^ (h >> 13) ^ (b & MASK32), 0xC2B2AE35)
    return (h ^ (h >> 16)) & MASK32


def hash_text(text):
    h = 2166136261
    for ch in text:
        h = imul(h ^ ord(ch), 16777619)
    return h


class Mulberry32:
    """Mulberry32 as in synthetic.ts. Its state advances by a constant, so n draws are
    computed at once from the arithmetic sequence of states (vectorised with torch)."""

    INCREMENT = 0x6D2B79F5

    def __init__(self, seed):
        self.state = seed & MASK32

    def next(self):
        self.state = (self.state + self.INCREMENT) & MASK32
        t = self.state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & MASK32
        return ((t ^ (t >> 14)) & MASK32) / 4294967296

    def draws(self, torch, n):
        """The next n values as a float64 tensor, identical to n calls of next()."""
        k = torch.arange(1, n + 1, dtype=torch.int64)
        t = (self.state + k * self.INCREMENT) & MASK32
        self.state = (self.state + n * self.INCREMENT) & MASK32
        t = _imul_tensor(t ^ (t >> 15), t | 1)
        t = t ^ ((t + _imul_tensor(t ^ (t >> 7), t | 61)) & MASK32)
        return ((t ^ (t >> 14)) & MASK32).to(torch.float64) / 4294967296

    def gaussian(self):
        u = max(self.next(), 1e-12)
        return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * self.next())

    def gaussians(self, torch, n):
        pairs = self.draws(torch, 2 * n).view(n, 2)
        u = pairs[:, 0].clamp(min=1e-12)
        return torch.sqrt(-2 * torch.log(u)) * torch.cos(2 * math.pi * pairs[:, 1])


def _imul_tensor(a, b):
    # The low 32 bits of a*b without overflowing int64: split b into 16-bit halves.
    low = a * (b & 0xFFFF)
    high = ((a * (b >> 16)) & 0xFFFF) << 16
    return (low + high) & MASK32


class SyntheticTextureTask:
    """synthetic.ts's texture classification task, the same batches for a seed."""

    def __init__(self, torch, seed, size, channels, classes, gratings_per_class=3):
        self.torch = torch
        self.seed, self.size, self.channels, self.classes = seed, size, channels, classes
        self.gratings_per_class = gratings_per_class
        random = Mulberry32(mix_seed(seed, 0x7E47))
        self.textures = []
        for _ in range(classes):
            gratings = []
            for _ in range(gratings_per_class):
                fx = math.floor(random.next() * 7) - 3
                fy = math.floor(random.next() * 4) + (1 if fx == 0 else 0)
                colour = [random.gaussian() for _ in range(channels)]
                gratings.append((fx, fy, random.next() * 2 * math.pi, colour))
            self.textures.append(gratings)
        t = torch
        # fx, fy, phase and colour of every grating, for the vectorised batch
        self.fx = t.tensor([[g[0] for g in c] for c in self.textures], dtype=t.float64)
        self.fy = t.tensor([[g[1] for g in c] for c in self.textures], dtype=t.float64)
        self.phase = t.tensor([[g[2] for g in c] for c in self.textures], dtype=t.float64)
        self.colour = t.tensor([[g[3] for g in c] for c in self.textures], dtype=t.float64)

    def batch(self, step, batch_size):
        """(images NCHW float32, labels int64) of a step, the values of synthetic.ts's batch()."""
        t = self.torch
        size, channels, classes = self.size, self.channels, self.classes
        per_sample = 8 + 2 * size * size * channels
        draws = Mulberry32(mix_seed(self.seed, step + 1)).draws(t, batch_size * per_sample).view(batch_size, per_sample)
        head = draws[:, :8]
        labels = t.floor(head[:, 0] * classes).to(t.int64)
        distractors = (labels + 1 + t.floor(head[:, 1] * (classes - 1)).to(t.int64)) % classes
        norm = 1 / math.sqrt(self.gratings_per_class)
        amplitude = t.stack([(0.8 + 0.6 * head[:, 2]) * norm, 0.5 * head[:, 5] * norm], 1)  # [N, 2]
        sx = t.stack([head[:, 3] * size, head[:, 6] * size], 1)
        sy = t.stack([head[:, 4] * size, head[:, 7] * size], 1)
        pairs = draws[:, 8:].reshape(batch_size, size, size, channels, 2)
        u = pairs[..., 0].clamp(min=1e-12)
        images = 0.5 * t.sqrt(-2 * t.log(u)) * t.cos(2 * math.pi * pairs[..., 1])  # NHWC
        which = t.stack([labels, distractors], 1)  # [N, 2]
        fx, fy, phase, colour = self.fx[which], self.fy[which], self.phase[which], self.colour[which]  # [N, 2, G(, C)]
        coords = t.arange(size, dtype=t.float64)
        x = coords.view(1, 1, 1, 1, size)
        y = coords.view(1, 1, 1, size, 1)
        angle = (2 * math.pi * (fx[..., None, None] * (x + sx[:, :, None, None, None]) + fy[..., None, None] * (y + sy[:, :, None, None, None]))) / size
        angle = angle + phase[..., None, None]
        value = amplitude[:, :, None, None, None] * t.sin(angle)  # [N, 2, G, H, W]
        images = images + t.einsum("nlghw,nlgc->nhwc", value, colour)
        return images.permute(0, 3, 1, 2).contiguous().to(t.float32), labels


# --- the network description of src/core/probe/network.ts ---------------------------


def describe_network(variant, plan):
    blocks_per_stage = max(1, round_half_up((variant["depth"] - 2) / 6))
    layers = []
    convs = {}
    state = {"flops": 0, "params": 0}
    bn = variant["batchNorm"]

    def conv(name, cin, cout, kernel, stride, in_size):
        out_size = -(-in_size // stride)
        weights = kernel * kernel * cin * cout
        spec = {"name": name, "in": cin, "out": cout, "kernel": kernel, "stride": stride, "inSize": in_size, "outSize": out_size, "layerIndex": len(layers)}
        layers.append({"index": len(layers), "name": name, "kind": "conv", "params": weights, "residualAddAfter": False})
        state["params"] += weights + (2 * cout if bn else cout)
        state["flops"] += 2 * weights * out_size * out_size
        convs[name] = spec
        return spec

    size = plan["inputSize"]
    width = variant["width"]
    stem = conv("stem.conv", plan["inputChannels"], width, 3, 1, size)
    blocks = []
    channels = width
    for stage in range(3):
        stage_width = width * 2**stage
        for b in range(blocks_per_stage):
            name = "stage%d.block%d" % (stage + 1, b)
            stride = 2 if stage > 0 and b == 0 else 1
            changes = stride == 2 or channels != stage_width
            shortcut = "none"
            projection = None
            if variant["architecture"] == "residual":
                if not changes:
                    shortcut = "identity"
                elif variant["shortcut"] == "B":
                    shortcut = "projection"
                    projection = conv(name + ".shortcut", channels, stage_width, 1, stride, size)
                else:
                    shortcut = "zero-pad"
            conv1 = conv(name + ".conv1", channels, stage_width, 3, stride, size)
            size = conv1["outSize"]
            conv2 = conv(name + ".conv2", stage_width, stage_width, 3, 1, size)
            if shortcut != "none":
                layers[conv2["layerIndex"]]["residualAddAfter"] = True
            blocks.append({"name": name, "conv1": conv1, "conv2": conv2, "shortcut": shortcut, "projection": projection})
            channels = stage_width
    dense_weights = channels * plan["classes"]
    dense = {"name": "classifier", "inFeatures": channels, "classes": plan["classes"], "layerIndex": len(layers)}
    layers.append({"index": len(layers), "name": "classifier", "kind": "dense", "params": dense_weights, "residualAddAfter": False})
    state["params"] += dense_weights + plan["classes"]
    state["flops"] += 2 * dense_weights
    return {"stem": stem, "blocks": blocks, "dense": dense, "layers": layers, "params": state["params"], "trainingFlopsPerSample": 3 * state["flops"]}


def round_half_up(x):
    # JavaScript's Math.round, not Python's banker's rounding
    return math.floor(x + 0.5)


# --- the model ----------------------------------------------------------------------


def build_model(torch, plan, variant, network):
    """Modules named as network.layers (`stage2.block0.conv1` is the module at that path),
    initialised from the same seeded generator and in the same order as model.ts."""
    nn = torch.nn
    F = torch.nn.functional
    random = Mulberry32(mix_seed(plan["seed"], hash_text(variant["id"])))
    bn = variant["batchNorm"]

    class SameConv(nn.Conv2d):
        """TensorFlow's 'same' padding: for stride 2 on an even size the extra row and
        column go at the bottom and right, which nn.Conv2d's symmetric padding cannot express."""

        def __init__(self, spec):
            k, s = spec["kernel"], spec["stride"]
            total = max((spec["outSize"] - 1) * s + k - spec["inSize"], 0)
            before, after = total // 2, total - total // 2
            super().__init__(spec["in"], spec["out"], k, stride=s, padding=before if before == after else 0, bias=not bn)
            self.asymmetric = None if before == after else (before, after, before, after)
            fan_in = k * k * spec["in"]
            values = random.gaussians(torch, fan_in * spec["out"]) * math.sqrt(2 / fan_in)
            with torch.no_grad():
                # model.ts fills the kernel in TensorFlow's [kh, kw, in, out] order
                self.weight.copy_(values.view(k, k, spec["in"], spec["out"]).permute(3, 2, 0, 1))
                if self.bias is not None:
                    self.bias.zero_()

        def forward(self, x):
            if self.asymmetric:
                x = F.pad(x, (self.asymmetric[2], self.asymmetric[3], self.asymmetric[0], self.asymmetric[1]))
            return super().forward(x)

    def norm(channels):
        # Batch statistics always (training mode), as the TF.js worker: no running averages.
        return nn.BatchNorm2d(channels, eps=BATCH_NORM_EPSILON, track_running_stats=False) if bn else nn.Identity()

    class Block(nn.Module):
        def __init__(self, spec):
            super().__init__()
            self.kind = spec["shortcut"]
            if spec["projection"]:
                self.shortcut = SameConv(spec["projection"])
                self.shortcut_norm = norm(spec["projection"]["out"])
            self.conv1 = SameConv(spec["conv1"])
            self.norm1 = norm(spec["conv1"]["out"])
            self.conv2 = SameConv(spec["conv2"])
            self.norm2 = norm(spec["conv2"]["out"])
            self.out_channels = spec["conv2"]["out"]

        def forward(self, x):
            if self.kind == "identity":
                skip = x
            elif self.kind == "projection":
                skip = self.shortcut_norm(self.shortcut(x))
            elif self.kind == "zero-pad":
                # option A: every second pixel, new channels zero, half before and half after
                sub = x[:, :, ::2, ::2]
                extra = self.out_channels - x.shape[1]
                skip = F.pad(sub, (0, 0, 0, 0, extra // 2, extra - extra // 2))
            else:
                skip = None
            h = F.relu(self.norm1(self.conv1(x)))
            out = self.norm2(self.conv2(h))
            if skip is not None:
                out = out + skip
            return F.relu(out)

    class Stage(nn.Module):
        pass

    class Stem(nn.Module):
        def __init__(self, spec):
            super().__init__()
            self.conv = SameConv(spec)
            self.norm = norm(spec["out"])

        def forward(self, x):
            return F.relu(self.norm(self.conv(x)))

    class Network(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = Stem(network["stem"])
            self.block_order = []
            for spec in network["blocks"]:
                stage_name, block_name = spec["name"].split(".")
                if not hasattr(self, stage_name):
                    setattr(self, stage_name, Stage())
                stage = getattr(self, stage_name)
                setattr(stage, block_name, Block(spec))
                self.block_order.append(getattr(stage, block_name))
            dense = network["dense"]
            self.classifier = nn.Linear(dense["inFeatures"], dense["classes"])
            bound = 1 / math.sqrt(dense["inFeatures"])
            n = dense["inFeatures"] * dense["classes"]
            values = (2 * random.draws(torch, n + dense["classes"]) - 1) * bound
            with torch.no_grad():
                self.classifier.weight.copy_(values[:n].view(dense["inFeatures"], dense["classes"]).t())
                self.classifier.bias.copy_(values[n:])

        def forward(self, x):
            x = self.stem(x)
            for block in self.block_order:
                x = block(x)
            return self.classifier(x.mean(dim=(2, 3)))

    model = Network()
    modules = dict(model.named_modules())
    layer_modules = []
    for layer in network["layers"]:
        module = modules.get(layer["name"])
        if module is None:
            raise RuntimeError("internal: no module named " + layer["name"])
        layer_modules.append(module)
    return model, layer_modules


# --- the run ------------------------------------------------------------------------


class Controls:
    """Commands arriving on stdin after `run`, read by a thread so a step never waits."""

    def __init__(self):
        self.cancelled = False
        self.resumed = threading.Event()

    def listen(self, stream):
        for line in stream:
            try:
                command = json.loads(line)
            except ValueError:
                continue
            if command.get("type") == "cancel":
                self.cancelled = True
                self.resumed.set()
            elif command.get("type") == "resume":
                self.resumed.set()
        # stdin closed: the host died or dropped us, nobody reads our results
        os._exit(0)


class ProbeFailure(Exception):
    def __init__(self, code, message, step=None):
        super().__init__(message)
        self.code, self.step = code, step


def js_exponential(value):
    """Number.prototype.toExponential(1), so messages read as the TF.js worker's."""
    mantissa, exponent = ("%.1e" % value).split("e")
    return "%se%s%d" % (mantissa, "+" if int(exponent) >= 0 else "-", abs(int(exponent)))


def choose_device(torch, notes):
    forced = os.environ.get("RESIDUAL_LENS_TORCH_DEVICE", "")
    if forced == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    try:
        torch.backends.cudnn.benchmark = True
        return torch.device("cuda:0")
    except Exception as err:  # noqa: BLE001 - any CUDA failure means the CPU
        notes.append("CUDA is present but failed (%s): running on the CPU" % err)
        return torch.device("cpu")


def device_name(torch, device):
    if device.type == "cuda":
        return "cuda:0 %s" % torch.cuda.get_device_name(0)
    threads = torch.get_num_threads()
    return "cpu (%d thread%s)" % (threads, "" if threads == 1 else "s")


def is_cuda_failure(err):
    text = str(err)
    return "CUDA" in text or "cuDNN" in text or "CUBLAS" in text or "out of memory" in text


class Trainer:
    def __init__(self, torch, plan, spec, device, notes):
        self.torch, self.plan, self.spec, self.device = torch, plan, spec, device
        self.network = describe_network(spec, plan)
        model, self.layer_modules = build_model(torch, plan, spec, self.network)
        self.model = model.to(device)
        self.kernels = [m.weight for m in self.layer_modules]
        self.task = SyntheticTextureTask(torch, plan["seed"], plan["inputSize"], plan["inputChannels"], plan["classes"])
        self.optimizer = self.make_optimizer(self.model.parameters())
        self.notes = notes

    def make_optimizer(self, params):
        plan, optim = self.plan, self.torch.optim
        if plan["optimizer"] == "adam":
            return optim.Adam(params, lr=plan["learningRate"], betas=(0.9, 0.999), eps=1e-8)
        return optim.SGD(params, lr=plan["learningRate"], momentum=plan["momentum"])

    def move_to_cpu(self):
        """After a CUDA failure: the same weights and optimizer state, on the CPU."""
        torch = self.torch
        cpu = torch.device("cpu")
        self.model.to(cpu)
        for state in self.optimizer.state.values():
            for key, value in list(state.items()):
                if torch.is_tensor(value):
                    state[key] = value.to(cpu)
        self.device = cpu
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    def step(self, step, collect_activations, report):
        """One training step; returns (loss, accuracy, activation stats, norms)."""
        torch, plan = self.torch, self.plan
        images, labels = self.task.batch(step, plan["batchSize"])
        images, labels = images.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)
        hooks = []
        outputs = {}
        if collect_activations:
            for index, module in enumerate(self.layer_modules):
                hooks.append(module.register_forward_hook(lambda _m, _i, out, index=index: outputs.__setitem__(index, out.detach())))
        try:
            logits = self.model(images)
        finally:
            for h in hooks:
                h.remove()
        loss = torch.nn.functional.cross_entropy(logits, labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        stats = None
        if collect_activations:
            stats = [(float(outputs[i].mean()), float(outputs[i].std(unbiased=False))) for i in range(len(self.layer_modules))]
        norms = None
        if report:
            with torch.no_grad():
                grad_norms = [float(k.grad.norm()) if k.grad is not None else 0.0 for k in self.kernels]
                before = [k.detach().clone() for k in self.kernels]
        self.optimizer.step()
        if report:
            with torch.no_grad():
                weight_norms = [float(b.norm()) for b in before]
                update_norms = [float((b - k).norm()) for b, k in zip(before, self.kernels)]
            norms = (grad_norms, weight_norms, update_norms)
        correct = (logits.detach().argmax(1) == labels).sum()
        # .item() waits for the GPU: the step's time includes its work
        return float(loss.detach().item()), float(correct.item()) / plan["batchSize"], stats, norms


def first_to_last_ratio(layers, grad_norms):
    convs = [l for l in layers if l["kind"] == "conv"]
    if len(convs) < 2:
        return None
    first, last = grad_norms[convs[0]["index"]], grad_norms[convs[-1]["index"]]
    if not (last > 0):
        return None
    return first / last


def run(command, controls):
    plan, variant_id = command["plan"], command["variant"]
    spec = next((v for v in plan.get("variants", []) if v.get("id") == variant_id), None)
    if spec is None:
        raise ProbeFailure("invalid-plan", "the plan has no variant '%s'" % variant_id)
    import torch  # noqa: PLC0415 - after the plan is read, so a missing torch is reported as an error message

    threads = int(os.environ.get("RESIDUAL_LENS_TORCH_THREADS") or 0) or os.cpu_count() or 1
    # Debian's torch starts with one thread on some machines: set it, always.
    torch.set_num_threads(threads)
    torch.manual_seed(plan["seed"])
    notes = []
    device = choose_device(torch, notes)
    trainer = Trainer(torch, plan, spec, device, notes)
    if device.type == "cuda":
        # Try one step before reporting the device: out-of-memory shows here.
        try:
            trainer.step(0, False, False)
            trainer = Trainer(torch, plan, spec, device, notes)
        except RuntimeError as err:
            if not is_cuda_failure(err):
                raise
            notes.append("the GPU failed a trial step (%s): this run uses the CPU" % str(err).splitlines()[0])
            torch.cuda.empty_cache()
            trainer = Trainer(torch, plan, spec, torch.device("cpu"), notes)
    network = trainer.network
    send({
        "type": "started",
        "variant": variant_id,
        "backend": "torch %s" % torch.__version__,
        "device": device_name(torch, trainer.device),
        "params": network["params"],
        "layers": network["layers"],
        "notes": notes,
        "flopsPerStep": network["trainingFlopsPerSample"] * plan["batchSize"],
    })

    losses, accuracies = [], []
    training_ms = 0.0
    reason = "completed"
    step = 0
    while step < plan["steps"]:
        if controls.cancelled:
            reason = "cancelled"
            break
        if plan["timeBudgetMs"] > 0 and step > 0 and training_ms > plan["timeBudgetMs"]:
            reason = "time-budget"
            break
        started = time.perf_counter()
        report = step % plan["gradientEvery"] == 0
        try:
            loss, accuracy, stats, norms = trainer.step(step, step == 0, report)
        except RuntimeError as err:
            if trainer.device.type != "cuda" or not is_cuda_failure(err):
                raise
            print("residual-lens: CUDA failed at step %d (%s): going on with the CPU" % (step, str(err).splitlines()[0]), file=sys.stderr)
            trainer.move_to_cpu()
            continue
        if stats is not None:
            send({"type": "activations", "variant": variant_id, "step": step, "means": [s[0] for s in stats], "stds": [s[1] for s in stats]})
        if norms is not None:
            grad_norms, weight_norms, update_norms = norms
            ratios = [(u / w if step > 0 and w > 0 else None) for u, w in zip(update_norms, weight_norms)]
            message = {"type": "gradients", "variant": variant_id, "step": step, "gradNorms": grad_norms, "weightNorms": weight_norms, "updateRatios": ratios}
            ratio = first_to_last_ratio(network["layers"], grad_norms)
            if ratio is not None and math.isfinite(ratio):
                message["firstToLastRatio"] = ratio
            send(message)
        if not math.isfinite(loss) or loss > DIVERGED_LOSS:
            what = ("reached %s" % js_exponential(loss)) if math.isfinite(loss) else "became %s" % ("NaN" if math.isnan(loss) else ("Infinity" if loss > 0 else "-Infinity"))
            raise ProbeFailure("diverged", "diverged at step %d: the loss %s" % (step, what), step)
        losses.append(loss)
        accuracies.append(accuracy)
        step_ms = (time.perf_counter() - started) * 1000
        training_ms += step_ms
        send({"type": "step", "variant": variant_id, "step": step, "loss": loss, "accuracy": accuracy, "ms": step_ms})
        if step == 0 and command.get("holdAfterInit"):
            controls.resumed.wait()
        step += 1

    def mean_of_last(values):
        tail = values[-FINAL_LOSS_WINDOW:]
        return sum(tail) / len(tail) if tail else float("nan")

    cpu = os.times()
    send({
        "type": "done",
        "variant": variant_id,
        "steps": len(losses),
        "finalLoss": mean_of_last(losses),
        "finalAccuracy": mean_of_last(accuracies),
        "msPerStep": training_ms / len(losses) if losses else 0,
        "reason": reason,
        "cpuMs": (cpu.user + cpu.system) * 1000,
    })


def main():
    # Ctrl-C in a terminal reaches the whole process group: the host cancels us with a
    # cancel line instead, so the run ends with its partial losses (as the TF.js worker).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if len(sys.argv) == 3:
        # By hand: probe_runner.py PLAN.json VARIANT, no host to watch
        with open(sys.argv[1]) as f:
            plan = json.load(f)
        controls = Controls()
        controls.resumed.set()
        try:
            run({"type": "run", "plan": plan, "variant": sys.argv[2]}, controls)
            return 0
        except ProbeFailure as err:
            send({"type": "error", "variant": sys.argv[2], "code": err.code, "message": str(err)})
            return 1
    first = sys.stdin.readline()
    if not first:
        return 0
    try:
        command = json.loads(first)
    except ValueError as err:
        send({"type": "error", "variant": "", "code": "invalid-plan", "message": "the first line on stdin is not JSON: %s" % err})
        return 2
    variant_id = command.get("variant", "")
    controls = Controls()
    threading.Thread(target=controls.listen, args=(sys.stdin,), daemon=True).start()
    try:
        run(command, controls)
        return 0
    except ProbeFailure as err:
        message = {"type": "error", "variant": variant_id, "code": err.code, "message": str(err)}
        if err.step is not None:
            message["step"] = err.step
        send(message)
        return 0
    except ImportError as err:
        send({"type": "error", "variant": variant_id, "code": "backend", "message": "%s cannot import torch (%s): install PyTorch for this interpreter" % (sys.executable, err)})
        return 1
    except (MemoryError, RuntimeError) as err:
        text = str(err) or type(err).__name__
        oom = isinstance(err, MemoryError) or "out of memory" in text or "can't allocate memory" in text
        send({"type": "error", "variant": variant_id, "code": "out-of-memory" if oom else "crashed", "message": text.splitlines()[0] if text else type(err).__name__})
        return 1
    except Exception as err:  # noqa: BLE001 - reported to the host, which shows it
        send({"type": "error", "variant": variant_id, "code": "crashed", "message": "%s: %s" % (type(err).__name__, err)})
        return 1


if __name__ == "__main__":
    code = main()
    _message_out.flush()
    os._exit(code)
