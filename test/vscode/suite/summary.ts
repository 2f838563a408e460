import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SuiteCounts {
  passed: number;
  failed: number;
  skipped: number;
}

/** The counts runTests.ts reads back: the only way results leave the extension host. */
export function writeSuiteSummary(counts: SuiteCounts): void {
  const summaryPath = process.env.RESIDUAL_LENS_TEST_SUMMARY;
  if (!summaryPath) return;
  mkdirSync(dirname(summaryPath), { recursive: true });
  writeFileSync(summaryPath, JSON.stringify(counts));
}
