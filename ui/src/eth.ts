// The Ethereum node as a manager reports it: each reading, or why it is
// missing, in words — never a zero standing in for "unknown".

import type { ManagerRow } from "./api";
import type { BeaconSyncing_Serialize as BeaconSyncing, EthStatusResponse_Serialize as EthStatusResponse, ExecutionSyncing, ReadError, ReadErrorKind } from "./bindings";
import { h } from "./dom";
import { meter } from "./widgets";

/** A reading as the bindings type it. */
export type Reading<T> = { value: T } | { error: ReadError };

const KIND: Record<ReadErrorKind, string> = {
  not_configured: "Not configured",
  not_served: "Not served",
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

/** What the window knows of one manager's Ethereum node. */
export interface EthState {
  status: EthStatusResponse | null;
  error: string | null;
}

/** The Ethereum node section of a manager's page. */
export function ethSection(manager: ManagerRow, state: EthState): HTMLElement {
  const section = h("section", { class: "host eth", "aria-labelledby": "eth-title", "data-testid": "eth" });
  const title = h("h3", { id: "eth-title" }, "Ethereum node");
  const { status } = state;
  if (!status) {
    const message = state.error ?? (manager.state === "online" ? `Asking ${manager.name}…` : `${manager.name} is offline; its node's state shows here once it is back.`);
    section.append(title, h("p", { class: state.error ? "notice bad" : "muted", role: "status", "data-testid": "eth-status" }, message));
    return section;
  }
  const c = status.consensus;
  const x = status.execution;
  const num = (n: number) => n.toLocaleString("en-US");
  const consensus = h(
    "div",
    { class: "tile" },
    h("h4", {}, "Consensus client"),
    h(
      "dl",
      { class: "facts" },
      h("div", { class: "fact" }, h("dt", {}, "Version"), readingView(c.version, (v) => v, "beacon-version")),
      h("div", { class: "fact" }, h("dt", {}, "Sync"), readingView(c.syncing, (s) => beaconSyncLabel(s), "beacon-sync")),
      h(
        "div",
        { class: "fact" },
        h("dt", {}, "Peers"),
        readingView(c.peers, (p) => `${num(p.connected)} connected${p.connecting > 0 ? `, ${num(p.connecting)} connecting` : ""}`, "beacon-peers"),
      ),
      h(
        "div",
        { class: "fact" },
        h("dt", {}, "Health"),
        readingView(
          c.health,
          (hh) => h("span", { class: `badge ${hh === "ready" ? "good" : hh === "syncing" ? "busy" : "bad"}` }, hh === "ready" ? "Ready" : hh === "syncing" ? "Syncing" : "Not ready"),
          "beacon-health",
        ),
      ),
    ),
    c.endpoint ? h("p", { class: "muted small" }, c.endpoint) : null,
  );
  const execution = h(
    "div",
    { class: "tile" },
    h("h4", {}, "Execution client"),
    h(
      "dl",
      { class: "facts" },
      h("div", { class: "fact" }, h("dt", {}, "Version"), readingView(x.version, (v) => v, "execution-version")),
      h(
        "div",
        { class: "fact" },
        h("dt", {}, "Sync"),
        readingView(
          x.syncing,
          (s) => {
            const p = executionSync(s);
            if (p.percent === null) return p.label;
            return h("span", {}, p.label, meter(p.percent, 100, "execution sync"));
          },
          "execution-sync",
        ),
      ),
      h("div", { class: "fact" }, h("dt", {}, "Peers"), readingView(x.peers, (n) => num(n), "execution-peers")),
    ),
    x.endpoint ? h("p", { class: "muted small" }, x.endpoint) : null,
  );
  section.append(
    h("div", { class: "section-header" }, title),
    ...(state.error ? [h("p", { class: "notice bad", role: "alert" }, state.error)] : []),
    h("div", { class: "tiles" }, consensus, execution),
  );
  return section;
}
