import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { LanguageServerProcess } from '../test/support/lspClient';
import { fixturesDir } from '../test/support/paths';

// A long editing session against the real language server: 10 000 edits spread over
// the PyTorch fixtures (typing a character, deleting it, pasting a line), then the
// server's RSS, heap and open file descriptors before and after; then documents closed,
// reopened and edited over and over (their syntax trees must be freed on close).
const edits = Number(process.env.EDITS ?? 10000);

function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

function openDescriptors(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) !== '';
    } catch {
      return false;
    }
  }).length;
}

async function settle(server: LanguageServerProcess, uri: string, version: number): Promise<void> {
  await server.nextDiagnostics(uri, (p) => p.version === version, 60000);
}

async function main(): Promise<void> {
  const dir = join(fixturesDir, 'pytorch');
  const files = readdirSync(dir).filter((f) => f.endsWith('.py')).sort().slice(0, 20);
  const texts = files.map((f) => readFileSync(join(dir, f), 'utf8'));
  const { server } = await LanguageServerProcess.start({ debounceMs: 0, workspaceScan: false });
  const pid = server.child.pid!;
  const uris = files.map((f) => `file:///bench/${f}`);
  const versions = uris.map(() => 1);
  for (const [i, uri] of uris.entries()) await server.open(uri, 'python', texts[i]!, 1);
  for (const [i, uri] of uris.entries()) await settle(server, uri, versions[i]!);
  // Warm-up: the first pass over every file fills caches that are not leaks.
  const runEdits = async (count: number): Promise<void> => {
    for (let n = 0; n < count; n++) {
      const i = n % uris.length;
      const base = texts[i]!;
      const cut = (n * 7919) % base.length;
      const variant = n % 3 === 0 ? base.slice(0, cut) + 'x' + base.slice(cut) : n % 3 === 1 ? base.slice(0, cut) + base.slice(cut + 1) : base.slice(0, cut) + '\n    y = x + x\n' + base.slice(cut);
      versions[i]!++;
      await server.change(uris[i]!, versions[i]!, variant);
      // Wait for every 20th edit so the server works through them at typing pace.
      if (n % 20 === 19) await settle(server, uris[i]!, versions[i]!);
    }
    for (const [i, uri] of uris.entries()) {
      versions[i]!++;
      await server.change(uri, versions[i]!, texts[i]!);
      await settle(server, uri, versions[i]!);
    }
  };
  await runEdits(500);
  const before = { rss: rssMb(pid), fds: openDescriptors(pid) };
  const started = performance.now();
  await runEdits(edits);
  const seconds = (performance.now() - started) / 1000;
  await new Promise((ok) => setTimeout(ok, 1000));
  const after = { rss: rssMb(pid), fds: openDescriptors(pid) };
  console.log(`${edits} edits over ${files.length} fixture files in ${seconds.toFixed(1)} s (${(edits / seconds).toFixed(0)} edits/s, each 20th awaited)`);
  console.log(`language server RSS: ${before.rss.toFixed(0)} MB after warm-up, ${after.rss.toFixed(0)} MB after the session (${(after.rss - before.rss >= 0 ? '+' : '')}${(after.rss - before.rss).toFixed(0)} MB)`);
  console.log(`open file descriptors: ${before.fds} before, ${after.fds} after`);

  // Open, edit and close: each open document keeps its syntax tree in the wasm heap
  // until it is closed, so closing must give it back.
  const cycles = Number(process.env.CYCLES ?? 600);
  for (let n = 0; n < cycles; n++) {
    const i = n % uris.length;
    await server.close(uris[i]!);
    versions[i] = 1;
    await server.open(uris[i]!, 'python', texts[i]!, 1);
    versions[i]!++;
    await server.change(uris[i]!, versions[i]!, `${texts[i]!}\n# edited\n`);
    await settle(server, uris[i]!, versions[i]!);
  }
  await new Promise((ok) => setTimeout(ok, 1000));
  const cycled = { rss: rssMb(pid), fds: openDescriptors(pid) };
  console.log(`${cycles} close/open/edit cycles: RSS ${after.rss.toFixed(0)} -> ${cycled.rss.toFixed(0)} MB, file descriptors ${after.fds} -> ${cycled.fds}`);
  await server.stop();
}

void main();
