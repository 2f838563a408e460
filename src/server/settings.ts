import { defaultAnalysisOptions } from '../core/analysis';

export interface ServerSettings {
  enable: boolean;
  debounceMs: number;
  maxFileBytes: number;
  workspaceScan: boolean;
  inlayHints: boolean;
}

/** Reads the `residualLens` section sent by the client, falling back to defaults field by field. */
export function readSettings(section: unknown): ServerSettings {
  const raw = (typeof section === 'object' && section !== null ? section : {}) as Record<string, unknown>;
  const number = (value: unknown, fallback: number, min: number, max: number): number =>
    typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
  return {
    enable: typeof raw.enable === 'boolean' ? raw.enable : true,
    debounceMs: number(raw.debounceMs, 250, 0, 5000),
    workspaceScan: typeof raw.workspaceScan === 'boolean' ? raw.workspaceScan : true,
    inlayHints: typeof raw.inlayHints === 'boolean' ? raw.inlayHints : true,
    maxFileBytes: number(raw.maxFileSizeKB, defaultAnalysisOptions.maxFileBytes / 1024, 1, 1024 * 1024) * 1024,
  };
}
