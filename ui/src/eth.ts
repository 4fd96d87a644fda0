// The Ethereum node as a manager reports it: each reading, or why it is
// missing, in words — never a zero standing in for "unknown".

import type { BeaconSyncing_Serialize as BeaconSyncing, ExecutionSyncing, ReadError } from "./bindings";
import { h } from "./dom";

/** A reading as the bindings type it. */
export type Reading<T> = { value: T } | { error: ReadError };

const KIND: Record<string, string> = {
  not_configured: "Not configured",
  unreachable: "Unreachable",
  timeout: "No answer in time",
  failed: "Error",
  invalid: "Unexpected answer",
};

/** The short label of a failed reading's kind. */
export function errorLabel(error: ReadError): string {
  return KIND[error.kind] ?? error.kind;
}

/** "Synced at slot 9 000 000", "Syncing: 120 slots behind (head 8 999 880)". */
export function beaconSyncLabel(s: BeaconSyncing): string {
  const slot = (n: number) => n.toLocaleString("en-US");
  if (!s.is_syncing && s.sync_distance === 0) return `Synced at slot ${slot(s.head_slot)}`;
  const slots = s.sync_distance === 1 ? "slot" : "slots";
  return `Syncing: ${slot(s.sync_distance)} ${slots} behind (head ${slot(s.head_slot)})`;
}

/** The execution client's progress: a percentage (null when synced) and a sentence. */
export function executionSync(s: ExecutionSyncing): { percent: number | null; label: string } {
  if (s === "synced") return { percent: null, label: "Synced" };
  const { starting_block: start, current_block: current, highest_block: highest } = s.syncing;
  const span = highest - start;
  const percent = span > 0 ? Math.min(100, Math.max(0, (100 * (current - start)) / span)) : 100;
  const block = (n: number) => n.toLocaleString("en-US");
  return {
    percent,
    label: `Syncing: block ${block(current)} of ${block(highest)} (${percent.toFixed(1)} %)`,
  };
}

/** A reading rendered: `show(value)` when there is one, else its error in words. */
export function readingView<T>(reading: Reading<T>, show: (value: T) => Node | string, testid: string): HTMLElement {
  if ("value" in reading) {
    const shown = show(reading.value);
    return h("dd", { "data-testid": testid }, shown);
  }
  return h(
    "dd",
    { class: "reading-error", "data-testid": testid, title: reading.error.message },
    h("span", { class: "badge bad" }, errorLabel(reading.error)),
    " ",
    h("span", { class: "muted small" }, reading.error.message),
  );
}
