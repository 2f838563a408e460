// Messages between the extension host and the gradient-flow panel page. Both sides
// validate what they receive with the parsers below; the page gets data only this way.
import { isRecord, parseProbeMessage, type Parsed, type ReceivedProbeMessage } from './probeMessageValidation';
import { parseProbeRunFile, type ProbeRunRecord, type RunOutcome } from './probeRun';

export const exportFormats = ['png', 'csv', 'json', 'html'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export type HostToPanelMessage =
  /** Replaces what the panel shows: a new run (no messages yet) or a stored one. */
  | { type: 'load'; run: ProbeRunRecord }
  /** Stream messages since the last batch, in order. */
  | { type: 'probe'; messages: ReceivedProbeMessage[] }
  | { type: 'runEnded'; outcome: Exclude<RunOutcome, 'running'>; message: string | null }
  /** Which run controls the host can act on right now. */
  | { type: 'controls'; canRerun: boolean; canStop: boolean }
  /** Asks the page for a PNG of its charts (the Export Probe Report command). */
  | { type: 'requestPng'; requestId: number }
  /** A file could not be opened; shown in the panel instead of the charts. */
  | { type: 'notice'; text: string }
  /**
   * "Probe This Model": the model the run was built from (null for the CIFAR family), and
   * whether its file changed since (the results are from an older version of the code).
   */
  | { type: 'source'; model: string | null; stale: string | null };

export type PanelToHostMessage =
  | { type: 'ready' }
  | { type: 'rerun' }
  | { type: 'stop' }
  | { type: 'export'; format: ExportFormat; dataUrl: string | null }
  | { type: 'png'; requestId: number; dataUrl: string | null }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; text: string }
  /** A layer was clicked: show its line (the host opens only files named by the run's layers). */
  | { type: 'revealSource'; uri: string; line: number };

const pngPrefix = 'data:image/png;base64,';
const maxDataUrlLength = 64 * 1024 * 1024;

function dataUrlField(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string' || !value.startsWith(pngPrefix) || value.length > maxDataUrlLength) throw new Error('dataUrl must be a PNG data URL');
  return value;
}

export function parsePanelToHostMessage(value: unknown): Parsed<PanelToHostMessage> {
  if (!isRecord(value)) return { ok: false, error: 'a panel message must be an object' };
  const known = (names: string[]): string[] => Object.keys(value).filter((k) => k !== 'type' && !names.includes(k));
  try {
    switch (value.type) {
      case 'ready':
      case 'rerun':
      case 'stop':
        return { ok: true, value: { type: value.type }, ignoredFields: known([]) };
      case 'export': {
        const format = value.format;
        if (typeof format !== 'string' || !(exportFormats as readonly string[]).includes(format)) return { ok: false, error: `unknown export format ${JSON.stringify(format)}` };
        return { ok: true, value: { type: 'export', format: format as ExportFormat, dataUrl: dataUrlField(value.dataUrl) }, ignoredFields: known(['format', 'dataUrl']) };
      }
      case 'png': {
        if (typeof value.requestId !== 'number') return { ok: false, error: 'png.requestId must be a number' };
        return { ok: true, value: { type: 'png', requestId: value.requestId, dataUrl: dataUrlField(value.dataUrl) }, ignoredFields: known(['requestId', 'dataUrl']) };
      }
      case 'revealSource': {
        if (typeof value.uri !== 'string' || value.uri.length === 0 || value.uri.length > 4096) return { ok: false, error: 'revealSource.uri must be a non-empty string' };
        if (typeof value.line !== 'number' || !Number.isInteger(value.line) || value.line < 0) return { ok: false, error: 'revealSource.line must be a whole number from 0' };
        return { ok: true, value: { type: 'revealSource', uri: value.uri, line: value.line }, ignoredFields: known(['uri', 'line']) };
      }
      case 'log': {
        const level = value.level === 'warn' || value.level === 'error' ? value.level : 'info';
        if (typeof value.text !== 'string') return { ok: false, error: 'log.text must be a string' };
        return { ok: true, value: { type: 'log', level, text: value.text.slice(0, 2000) }, ignoredFields: known(['level', 'text']) };
      }
      default:
        return { ok: false, error: `unknown panel message type ${JSON.stringify(value.type)}` };
    }
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

export function parseHostToPanelMessage(value: unknown): Parsed<HostToPanelMessage> {
  if (!isRecord(value)) return { ok: false, error: 'a host message must be an object' };
  const unknownFields = (names: string[]): string[] => Object.keys(value).filter((k) => k !== 'type' && !names.includes(k));
  switch (value.type) {
    case 'load': {
      const run = parseProbeRunFile(value.run);
      if (!run.ok) return run;
      return { ok: true, value: { type: 'load', run: run.value }, ignoredFields: [...unknownFields(['run']), ...run.ignoredFields] };
    }
    case 'probe': {
      if (!Array.isArray(value.messages)) return { ok: false, error: 'probe.messages must be an array' };
      const messages: ReceivedProbeMessage[] = [];
      const ignored = unknownFields(['messages']);
      for (const item of value.messages) {
        const parsed = parseProbeMessage(item);
        if (parsed.ok) {
          messages.push(parsed.value);
          ignored.push(...parsed.ignoredFields);
        } else {
          ignored.push(parsed.error);
        }
      }
      return { ok: true, value: { type: 'probe', messages }, ignoredFields: ignored };
    }
    case 'runEnded': {
      const outcome = value.outcome;
      if (outcome !== 'completed' && outcome !== 'cancelled' && outcome !== 'failed') return { ok: false, error: `runEnded.outcome ${JSON.stringify(outcome)} is unknown` };
      const message = typeof value.message === 'string' ? value.message : null;
      return { ok: true, value: { type: 'runEnded', outcome, message }, ignoredFields: unknownFields(['outcome', 'message']) };
    }
    case 'controls':
      return {
        ok: true,
        value: { type: 'controls', canRerun: value.canRerun === true, canStop: value.canStop === true },
        ignoredFields: unknownFields(['canRerun', 'canStop']),
      };
    case 'requestPng':
      if (typeof value.requestId !== 'number') return { ok: false, error: 'requestPng.requestId must be a number' };
      return { ok: true, value: { type: 'requestPng', requestId: value.requestId }, ignoredFields: unknownFields(['requestId']) };
    case 'notice':
      if (typeof value.text !== 'string') return { ok: false, error: 'notice.text must be a string' };
      return { ok: true, value: { type: 'notice', text: value.text }, ignoredFields: unknownFields(['text']) };
    case 'source': {
      const text = (field: unknown, name: string): string | null => {
        if (field === null || field === undefined) return null;
        if (typeof field !== 'string') throw new Error(`source.${name} must be a string or null`);
        return field;
      };
      try {
        return { ok: true, value: { type: 'source', model: text(value.model, 'model'), stale: text(value.stale, 'stale') }, ignoredFields: unknownFields(['model', 'stale']) };
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err.message : String(err) };
      }
    }
    default:
      return { ok: false, error: `unknown host message type ${JSON.stringify(value.type)}` };
  }
}

/** What the page keeps with `setState`, so a hidden or reloaded panel comes back as it was. */
export interface PanelViewOptions {
  hiddenVariants: string[];
  logScale: boolean;
  /** Exponential smoothing of the loss curves, 0 (none) to 0.95. */
  smoothing: number;
  gradientSnapshot: 'init' | 'latest';
}

export const defaultViewOptions: PanelViewOptions = { hiddenVariants: [], logScale: true, smoothing: 0, gradientSnapshot: 'init' };

export interface PanelPersistedState {
  version: 1;
  run: ProbeRunRecord | null;
  view: PanelViewOptions;
}

export function parsePanelState(value: unknown): { run: ProbeRunRecord | null; view: PanelViewOptions; problem: string | null } {
  if (!isRecord(value) || value.version !== 1) return { run: null, view: { ...defaultViewOptions }, problem: value === undefined || value === null ? null : 'saved panel state has an unknown version' };
  const v = isRecord(value.view) ? value.view : {};
  const view: PanelViewOptions = {
    hiddenVariants: Array.isArray(v.hiddenVariants) ? v.hiddenVariants.filter((x): x is string => typeof x === 'string') : [],
    logScale: typeof v.logScale === 'boolean' ? v.logScale : defaultViewOptions.logScale,
    smoothing: typeof v.smoothing === 'number' && v.smoothing >= 0 && v.smoothing <= 0.95 ? v.smoothing : 0,
    gradientSnapshot: v.gradientSnapshot === 'latest' ? 'latest' : 'init',
  };
  if (value.run === null || value.run === undefined) return { run: null, view, problem: null };
  const run = parseProbeRunFile(value.run);
  return run.ok ? { run: run.value, view, problem: null } : { run: null, view, problem: run.error };
}
