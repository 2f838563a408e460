// The PyTorch engine's Node side: which interpreter runs it, whether that interpreter
// has torch (version and device), and the probe runner started as a child process
// that looks to the supervisor like a forked TF.js worker. No 'vscode' here: the CLI,
// the extension and the tests share it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { validateProbePlan } from '../core/probe/plan';
import type { ProbeCommand, ProbeMessage } from '../core/probe/protocol';

export type ProbeEngineName = 'tfjs' | 'torch' | 'auto';

export interface PythonChoice {
  path: string;
  /** Where the path came from, for messages: `--python`, `RESIDUAL_LENS_PYTHON`, `residualLens.python.path`, ... */
  source: string;
}

/** The CLI's order: --python, then RESIDUAL_LENS_PYTHON, then python3 on PATH. */
export function choosePythonForCli(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): PythonChoice {
  if (flag) return { path: flag, source: '--python' };
  const fromEnv = env['RESIDUAL_LENS_PYTHON'];
  if (fromEnv) return { path: fromEnv, source: 'RESIDUAL_LENS_PYTHON' };
  return { path: 'python3', source: 'python3 on PATH' };
}

export type TorchCheck =
  | { ok: true; python: PythonChoice; pythonVersion: string; torchVersion: string; device: string; cuda: boolean }
  | { ok: false; python: PythonChoice; problem: 'no-python' | 'no-torch' | 'broken-python'; message: string };

// Prints one JSON line; a missing torch is reported, not raised, so we can name the Python.
const checkScript = [
  'import json, sys',
  'out = {"python": sys.version.split()[0], "executable": sys.executable}',
  'try:',
  '    import torch',
  '    out["torch"] = torch.__version__',
  '    cuda = torch.cuda.is_available()',
  '    out["device"] = ("cuda:0 " + torch.cuda.get_device_name(0)) if cuda else "cpu"',
  '    out["cuda"] = cuda',
  'except Exception as err:',
  '    out["error"] = type(err).__name__ + ": " + str(err)',
  'print(json.dumps(out))',
].join('\n');

const pythonHelp = 'choose one with residualLens.python.path (VS Code), or --python / RESIDUAL_LENS_PYTHON (CLI)';

/** Runs `import torch` in the interpreter; one message says what is missing when it cannot run. */
export function checkTorch(python: PythonChoice, timeoutMs = 60_000): TorchCheck {
  const result = spawnSync(python.path, ['-c', checkScript], { encoding: 'utf8', timeout: timeoutMs });
  return interpretCheck(python, { ...(result.error ? { error: result.error } : {}), status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' });
}

/** checkTorch without blocking the event loop (the extension host). */
export function checkTorchAsync(python: PythonChoice, timeoutMs = 60_000): Promise<TorchCheck> {
  return new Promise((resolve) => {
    const child = spawn(python.path, ['-c', checkScript], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let error: Error | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', (err) => (error = err));
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve(interpretCheck(python, { ...(error ? { error } : {}), status, stdout, stderr }));
    });
  });
}

function interpretCheck(python: PythonChoice, result: { error?: Error; status: number | null; stdout: string; stderr: string }): TorchCheck {
  const where = `${python.path} (${python.source})`;
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, python, problem: 'no-python', message: `no Python interpreter found at ${where}: ${pythonHelp}` };
    return { ok: false, python, problem: 'broken-python', message: `the Python interpreter ${where} could not be run (${result.error.message}): ${pythonHelp}` };
  }
  const line = result.stdout.trim().split('\n').pop() ?? '';
  let parsed: { python?: string; executable?: string; torch?: string; device?: string; cuda?: boolean; error?: string } | undefined;
  try {
    parsed = JSON.parse(line) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  if (result.status !== 0 || !parsed) {
    const detail = (result.stderr || result.stdout).trim().split('\n').slice(-1)[0] || `exit code ${result.status}`;
    return { ok: false, python, problem: 'broken-python', message: `${where} is not a working Python 3 (${detail}): ${pythonHelp}` };
  }
  if (!parsed.torch) {
    return {
      ok: false,
      python,
      problem: 'no-torch',
      message:
        `${where}, Python ${parsed.python} at ${parsed.executable}, cannot import torch (${parsed.error ?? 'unknown error'}): ` +
        `install PyTorch for it (pip install torch; on Debian apt-get install python3-torch for /usr/bin/python3), or ${pythonHelp}`,
    };
  }
  return { ok: true, python, pythonVersion: parsed.python ?? '?', torchVersion: parsed.torch, device: parsed.device ?? 'cpu', cuda: parsed.cuda === true };
}

/**
 * 'auto' is torch when the interpreter has it, else tfjs; 'torch' needs it and says
 * why it cannot run. The check is skipped for 'tfjs'.
 */
export function resolveEngine(requested: ProbeEngineName, python: PythonChoice): EngineChoice {
  return requested === 'tfjs' ? { engine: 'tfjs' } : engineFromCheck(requested, checkTorch(python));
}

export async function resolveEngineAsync(requested: ProbeEngineName, python: PythonChoice): Promise<EngineChoice> {
  return requested === 'tfjs' ? { engine: 'tfjs' } : engineFromCheck(requested, await checkTorchAsync(python));
}

export interface EngineChoice {
  engine: 'tfjs' | 'torch';
  check?: TorchCheck;
  note?: string;
  error?: string;
}

function engineFromCheck(requested: 'torch' | 'auto', check: TorchCheck): EngineChoice {
  const { python } = check;
  if (check.ok) return { engine: 'torch', check, note: `PyTorch ${check.torchVersion} on ${check.device} with ${python.path} (${python.source})` };
  if (requested === 'torch') return { engine: 'torch', check, error: `the torch engine cannot run: ${check.message}` };
  return { engine: 'tfjs', check, note: `engine auto: using TensorFlow.js, because ${check.message}` };
}

export interface TorchRunnerOptions {
  python: string;
  /** probe_runner.py; defaults to dist/python/probe_runner.py next to the calling bundle. */
  runnerPath?: string;
  /** 'cpu' keeps a CUDA machine's GPU out of the run (tests, benchmarks on the CPU). */
  device?: 'auto' | 'cpu';
  /** torch threads per runner; default: the cores shared by the variants that train at once. */
  threads?: number;
}

export function defaultRunnerPath(): string {
  return join(__dirname, 'python', 'probe_runner.py');
}

/**
 * Starts the Python probe runner for one variant and presents it as a forked TF.js
 * worker: ProbeMessages arrive as 'message' events (parsed from its JSON lines on
 * stdout) and send() writes a command line to its stdin. Stdout is consumed here;
 * anything on it that is not a message is passed on as stderr output.
 */
export function spawnTorchRunner(options: TorchRunnerOptions, env: NodeJS.ProcessEnv, parallelVariants: number): ChildProcess {
  // Children training side by side share the cores: each gets its share of threads.
  const threads = options.threads ?? Math.max(1, Math.floor(availableParallelism() / Math.max(1, parallelVariants)));
  const child = spawn(options.python, ['-u', options.runnerPath ?? defaultRunnerPath()], {
    env: {
      ...env,
      PYTHONUNBUFFERED: '1',
      RESIDUAL_LENS_TORCH_THREADS: String(threads),
      ...(options.device === 'cpu' ? { RESIDUAL_LENS_TORCH_DEVICE: 'cpu' } : {}),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let pending = '';
  const deliver = (line: string): void => {
    if (!line.trim()) return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      child.stderr!.emit('data', Buffer.from(line + '\n'));
      return;
    }
    child.emit('message', message);
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    let newline;
    while ((newline = pending.indexOf('\n')) >= 0) {
      deliver(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
  });
  // 'exit' can come before the last stdout chunk: hold it until stdout has closed, so
  // a runner's final `done` is never taken for a crash.
  const emit = child.emit.bind(child);
  let stdoutClosed = false;
  let heldExit: unknown[] | undefined;
  child.stdout!.on('close', () => {
    stdoutClosed = true;
    deliver(pending);
    pending = '';
    if (heldExit) emit('exit', ...heldExit);
  });
  child.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
    if (event === 'exit' && !stdoutClosed) {
      heldExit = args;
      return true;
    }
    return emit(event, ...args);
  }) as ChildProcess['emit'];
  // A runner that died leaves a closed pipe; the exit event reports it.
  child.stdin!.on('error', () => undefined);
  const alive = (): boolean => child.exitCode === null && child.signalCode === null && !child.stdin!.destroyed;
  Object.defineProperty(child, 'connected', { get: alive, configurable: true });
  child.send = ((message: ProbeCommand, ...rest: unknown[]): boolean => {
    const callback = rest.find((r): r is (error: Error | null) => void => typeof r === 'function');
    if (!alive()) {
      callback?.(new Error('the probe runner has exited'));
      return false;
    }
    if (message.type === 'run') {
      // The TF.js worker checks the plan it receives; the runner trusts it, so check here.
      const problems = validateProbePlan(message.plan);
      if (problems.length) {
        const refusal: ProbeMessage = { type: 'error', variant: message.variant, code: 'invalid-plan', message: problems.join('; ') };
        setImmediate(() => {
          child.emit('message', refusal);
          child.stdin!.end(); // the runner exits when its input ends
        });
        callback?.(null);
        return true;
      }
    }
    return child.stdin!.write(JSON.stringify(message) + '\n', (err) => callback?.(err ?? null));
  }) as ChildProcess['send'];
  return child;
}
