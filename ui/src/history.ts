// The CPU and memory samples a manager sent, kept for the charts.

import type { SampleView } from "./api";

/** How much history the charts show: what a manager keeps (15 minutes). */
export const HISTORY_MS = 15 * 60 * 1000;

/**
 * `known` with `fresh` added: each sample once (by time), oldest first,
 * none older than `HISTORY_MS` before the newest.
 */
export function mergeSamples(known: SampleView[], fresh: SampleView[]): SampleView[] {
  const byTime = new Map<number, SampleView>();
  for (const s of [...known, ...fresh]) byTime.set(s.at_ms, s);
  const all = [...byTime.values()].sort((a, b) => a.at_ms - b.at_ms);
  const newest = all.at(-1)?.at_ms ?? 0;
  return all.filter((s) => s.at_ms > newest - HISTORY_MS);
}

/** When to ask from next time: the newest sample's time, or 0 for all. */
export function newestSampleMs(samples: SampleView[]): number {
  return samples.at(-1)?.at_ms ?? 0;
}
