// Entry of a probe child process (dist/probe-worker.js), forked by the supervisor, one
// per variant. Receives `run` then possibly `cancel` over the IPC channel, sends
// ProbeMessages back, and exits on its own when the channel closes, so that a host
// that dies (the extension host, a killed CLI) never leaves a child training.
import { validateProbePlan } from '../core/probe/plan';
import type { ProbeCommand, ProbeErrorCode, ProbeMessage } from '../core/probe/protocol';
import { backendPreferenceFromEnv, selectBackend } from './backend';
import { ProbeRunError, runVariant } from './train';

let cancelled = false;
let running = false;
let resumed = false;
let wakeHeld: (() => void) | undefined;

function resume(): void {
  resumed = true;
  wakeHeld?.();
}

let lastSent: Promise<void> = Promise.resolve();

// For the supervisor's watchdog test: `variant@step` makes that step hang for good, as a
// stuck native kernel would (the thread blocks; no message, no IPC, no signal handler runs).
const stallAt = process.env['RESIDUAL_LENS_TEST_STALL_STEP'];

function send(message: ProbeMessage): void {
  if (stallAt && message.type === 'step' && stallAt === `${message.variant}@${message.step}`) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
  if (!process.connected) return;
  lastSent = new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

function fail(variant: string, code: ProbeErrorCode, message: string, step?: number): void {
  send({ type: 'error', variant, code, message, ...(step !== undefined ? { step } : {}) });
}

/** Exit once the last message has left: process.send is asynchronous. */
function exitSoon(code: number): void {
  const finish = (): never => process.exit(code);
  void lastSent.then(finish);
  setTimeout(finish, 2000).unref();
}

async function run(command: Extract<ProbeCommand, { type: 'run' }>): Promise<void> {
  const { plan, variant } = command;
  const problems = validateProbePlan(plan);
  if (problems.length) return fail(variant, 'invalid-plan', problems.join('; '));
  let backend;
  try {
    backend = await selectBackend(backendPreferenceFromEnv(plan.backend), {
      ...(process.env['RESIDUAL_LENS_TFJS_NODE_PATH'] ? { tfjsNodePath: process.env['RESIDUAL_LENS_TFJS_NODE_PATH'] } : {}),
    });
  } catch (err) {
    return fail(variant, 'backend', err instanceof Error ? err.message : String(err));
  }
  try {
    const hold = command.holdAfterInit === true;
    await runVariant(backend, plan, variant, {
      emit: send,
      cancelled: () => cancelled,
      ...(hold ? { afterInit: () => (resumed ? Promise.resolve() : new Promise<void>((wake) => (wakeHeld = wake))) } : {}),
    });
  } catch (err) {
    if (err instanceof ProbeRunError) return fail(variant, err.code, err.message, err.step);
    const text = err instanceof Error ? err.message : String(err);
    // The wasm heap is capped; tfjs reports exhaustion as an allocation failure.
    const outOfMemory = /out of memory|Cannot enlarge memory|allocation failed|Array buffer allocation/i.test(text);
    fail(variant, outOfMemory ? 'out-of-memory' : 'crashed', text);
  }
}

process.on('message', (raw: unknown) => {
  const command = raw as ProbeCommand;
  if (command?.type === 'resume') return resume();
  if (command?.type === 'cancel') {
    cancelled = true;
    resume();
    if (!running) exitSoon(0);
    return;
  }
  if (command?.type === 'run' && !running) {
    running = true;
    run(command).then(
      () => exitSoon(0),
      (err: unknown) => {
        fail(command.variant, 'crashed', err instanceof Error ? err.message : String(err));
        exitSoon(1);
      },
    );
  }
});

// No host, no reason to live: covers a host that crashed or was killed with SIGKILL.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(143));
// Ctrl-C in a terminal signals the whole process group; the host decides (it sends
// `cancel` and the variant ends with its partial losses), so the child does not die here.
process.on('SIGINT', () => undefined);

if (!process.send) {
  process.stderr.write('probe-worker: start me with child_process.fork (I need an IPC channel)\n');
  process.exit(2);
}
