// How each node state reads on screen: a word, a tone, and a sentence.

import type { NodeState } from "./api";

/** A colour family for badges; the stylesheet maps each to light and dark. */
export type Tone = "good" | "busy" | "idle" | "bad";

export interface StateLabel {
  label: string;
  tone: Tone;
  /** What it means, for a tooltip or screen readers. */
  hint: string;
}

const LABELS: Record<NodeState, StateLabel> = {
  online: { label: "Online", tone: "good", hint: "An encrypted session is up and answering." },
  connecting: { label: "Connecting", tone: "busy", hint: "Opening an encrypted session." },
  offline: { label: "Offline", tone: "idle", hint: "Paired, but not reachable right now; NodePair keeps trying." },
  revoked: { label: "Unpaired", tone: "bad", hint: "Unpaired; it will be told when it next connects." },
  pairing: { label: "Pairing", tone: "busy", hint: "A pairing code is out." },
  unpaired: { label: "Not paired", tone: "idle", hint: "Not paired with this app." },
};

/** The label for `state`; an unknown state (from a newer backend) is shown as it is. */
export function stateLabel(state: string): StateLabel {
  return (
    LABELS[state as NodeState] ?? { label: state, tone: "idle", hint: `State "${state}".` }
  );
}

/** "just now", "40 s ago", "5 min ago", "3 h ago", "2 days ago", or "never". */
export function lastSeenLabel(unixSeconds: number | null | undefined, nowMs: number): string {
  if (unixSeconds === null || unixSeconds === undefined) return "never";
  const ago = Math.max(0, Math.floor(nowMs / 1000 - unixSeconds));
  // An offline manager was last heard at least a pong timeout (10 s) ago:
  // "just now" is kept for what is really current.
  if (ago < 5) return "just now";
  if (ago < 60) return `${ago} s ago`;
  if (ago < 3600) return `${Math.floor(ago / 60)} min ago`;
  if (ago < 86400) return `${Math.floor(ago / 3600)} h ago`;
  const days = Math.floor(ago / 86400);
  return days === 1 ? "1 day ago" : `${days} days ago`;
}

/** "12 ms", "0.4 ms", or "–" when unknown. */
export function latencyLabel(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}
