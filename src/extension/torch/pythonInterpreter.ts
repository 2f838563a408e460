import * as vscode from 'vscode';
import type { PythonChoice } from '../../torch/torchEngine';

interface PythonExtensionApi {
  environments?: { getActiveEnvironmentPath?(resource?: vscode.Uri): { path?: string } | undefined };
  settings?: { getExecutionDetails?(resource?: vscode.Uri): { execCommand?: string[] } | undefined };
}

/**
 * The interpreter of the PyTorch engine: residualLens.python.path, else the Python
 * extension's interpreter (its exported API, read without adding its npm package),
 * else its python.defaultInterpreterPath, else python3 on PATH. In an untrusted
 * workspace only user-level settings count: a workspace must not choose a program to run.
 */
export function choosePythonForExtension(resource?: vscode.Uri): PythonChoice {
  const trusted = vscode.workspace.isTrusted;
  const setting = (section: string, key: string): string | undefined => {
    const inspected = vscode.workspace.getConfiguration(section, resource).inspect<string>(key);
    const value = trusted ? vscode.workspace.getConfiguration(section, resource).get<string>(key) : inspected?.globalValue;
    return typeof value === 'string' && value.trim() ? value.trim() : undefined;
  };
  const own = setting('residualLens', 'python.path');
  if (own) return { path: own, source: trusted ? 'residualLens.python.path' : 'residualLens.python.path (user setting; untrusted workspace)' };
  if (trusted) {
    const python = vscode.extensions.getExtension<PythonExtensionApi>('ms-python.python');
    if (python?.isActive) {
      const api = python.exports;
      const active = api.environments?.getActiveEnvironmentPath?.(resource)?.path;
      if (active) return { path: active, source: 'the Python extension' };
      const command = api.settings?.getExecutionDetails?.(resource)?.execCommand?.[0];
      if (command) return { path: command, source: 'the Python extension' };
    }
  }
  const fromPythonSetting = setting('python', 'defaultInterpreterPath');
  if (fromPythonSetting && fromPythonSetting !== 'python') return { path: fromPythonSetting, source: 'python.defaultInterpreterPath' };
  return { path: 'python3', source: 'python3 on PATH' };
}
