// A manager's validators: a table of what the beacon node says of each
// (status, balance, its changes, liveness over the last epochs, the last
// attestation reward, the next proposal), and how each source read.

import type { ResponseOf } from "./api";
import { h } from "./dom";
import { errorLabel } from "./eth";
import { lastSeenLabel } from "./node_state";

export type ValidatorsStatus = ResponseOf<"validators.status">;
type View = Extract<ValidatorsStatus["validators"], { value: unknown }>["value"][number];

/** What the window knows of one manager's validators. */
export interface ValidatorsState {
  status: ValidatorsStatus | null;
  error: string | null;
}

const GWEI_PER_ETH = 1e9;

/** `32.0123 ETH` from Gwei. */
export function ethLabel(gwei: number): string {
  return `${(gwei / GWEI_PER_ETH).toFixed(4)} ETH`;
}

/** `+0.0030 ETH`, `−0.0000143 ETH`, or `–` when not known yet. */
export function changeLabel(gwei: number | null | undefined): string {
  if (gwei === null || gwei === undefined) return "–";
  const sign = gwei > 0 ? "+" : gwei < 0 ? "−" : "±";
  const eth = Math.abs(gwei) / GWEI_PER_ETH;
  return `${sign}${eth < 0.0001 && eth > 0 ? eth.toPrecision(3) : eth.toFixed(4)} ETH`;
}

/** `0x8f1c…3a2b`. */
export function shortKey(key: string): string {
  return key.length > 12 ? `${key.slice(0, 6)}…${key.slice(-4)}` : key;
}

const STATUS: Record<string, { label: string; tone: string }> = {
  pending_initialized: { label: "Deposited", tone: "idle" },
  pending_queued: { label: "In queue", tone: "busy" },
  active_ongoing: { label: "Active", tone: "good" },
  active_exiting: { label: "Exiting", tone: "busy" },
  active_slashed: { label: "Slashed", tone: "bad" },
  exited_unslashed: { label: "Exited", tone: "idle" },
  exited_slashed: { label: "Exited, slashed", tone: "bad" },
  withdrawal_possible: { label: "Withdrawable", tone: "idle" },
  withdrawal_done: { label: "Withdrawn", tone: "idle" },
};

/** A status's label and tone; an unknown one (a newer node's) as it is. */
export function statusLabel(status: string): { label: string; tone: string } {
  return STATUS[status] ?? { label: status, tone: "idle" };
}

/** "32 validators · 1 missed", for the managers row. */
export function validatorsSummary(s: ValidatorsStatus["summary"]): string {
  const n = `${s.count} ${s.count === 1 ? "validator" : "validators"}`;
  const parts = [n];
  if (s.missed > 0) parts.push(`${s.missed} missed`);
  if (s.slashed > 0) parts.push(`${s.slashed} slashed`);
  return parts.join(" · ");
}

function liveLabel(v: View): string {
  return v.live.judged === 0 ? "–" : `${v.live.live}/${v.live.judged}`;
}

function duty(v: View, nowMs: number): string {
  const p = v.next_proposal;
  if (!p) return "–";
  if (p.at_ms === 0) return `proposal at slot ${p.slot}`;
  const inSecs = Math.max(0, Math.round((p.at_ms - nowMs) / 1000));
  const when = inSecs < 60 ? `${inSecs} s` : inSecs < 3600 ? `${Math.round(inSecs / 60)} min` : `${Math.round(inSecs / 3600)} h`;
  return `proposal in ${when}`;
}

function sourceNote(name: string, reading: { error: { kind: string; message: string } } | { value: unknown } | null): HTMLElement | null {
  if (!reading || "value" in reading) return null;
  const kind = reading.error.kind as Parameters<typeof errorLabel>[0]["kind"];
  return h("li", { "data-testid": `source-${name}` }, `${name}: ${errorLabel({ kind, message: reading.error.message })} — ${reading.error.message}`);
}

/** The validators section of a manager's view. */
export function validatorsSection(state: ValidatorsState, nowMs: number): HTMLElement {
  const section = h("section", { class: "host validators", "aria-labelledby": "validators-title", "data-testid": "validators" });
  const title = h("h3", { id: "validators-title" }, "Validators");
  const status = state.status;
  if (!status) {
    section.append(title, h("p", { class: state.error ? "notice bad" : "muted", role: "status" }, state.error ?? "Asking…"));
    return section;
  }
  const read = lastSeenLabel(Math.floor(status.read_at_ms / 1000), nowMs);
  const header = h("div", { class: "section-header" }, title, h("span", { class: "muted", "data-testid": "validators-summary" }, `${validatorsSummary(status.summary)} · read ${read}`));
  if ("error" in status.validators) {
    section.append(header, h("p", { class: "notice bad", role: "alert", "data-testid": "validators-error" }, `${errorLabel(status.validators.error)}: ${status.validators.error.message}`));
    return section;
  }
  const views = status.validators.value;
  if (views.length === 0) {
    section.append(header, h("p", { class: "muted" }, "No validators: the operator lists them in [validators] of manager.toml, or names the validator client's keymanager."));
    return section;
  }
  const head = h(
    "tr",
    {},
    ...["Index", "Key", "Status", "Balance", "Last epoch", "1 day", "Live (last 10 epochs)", "Reward", "Next duty"].map((t) => h("th", { scope: "col" }, t)),
  );
  const rows = views.map((v) => {
    const s = statusLabel(v.status);
    return h(
      "tr",
      { "data-testid": "validator", "data-index": String(v.index), "data-status": v.status },
      h("td", { class: "num" }, v.index.toLocaleString("en-US")),
      h("td", { class: "mono", title: v.pubkey }, shortKey(v.pubkey)),
      h("td", {}, h("span", { class: `badge ${s.tone}` }, s.label)),
      h("td", { class: "num" }, ethLabel(v.balance_gwei)),
      h("td", { class: `num ${(v.change_epoch_gwei ?? 0) < 0 ? "loss" : ""}` }, changeLabel(v.change_epoch_gwei)),
      h("td", { class: `num ${(v.change_day_gwei ?? 0) < 0 ? "loss" : ""}` }, changeLabel(v.change_day_gwei)),
      h("td", { class: `num ${v.live.judged > v.live.live ? "loss" : ""}`, "data-testid": "validator-live" }, liveLabel(v)),
      h("td", { class: "num" }, changeLabel(v.reward_gwei)),
      h("td", {}, duty(v, nowMs)),
    );
  });
  const notes = [
    sourceNote("liveness", status.liveness),
    sourceNote("rewards", status.rewards),
    sourceNote("duties", status.duties),
    sourceNote("keymanager", status.keymanager),
  ].filter((n): n is HTMLElement => n !== null);
  const parts: (HTMLElement | null)[] = [
    header,
    h("div", { class: "table-scroll" }, h("table", { class: "validators-table" }, h("thead", {}, head), h("tbody", {}, ...rows))),
    status.more ? h("p", { class: "muted", "data-testid": "validators-more" }, `The first ${views.length} shown.`) : null,
    status.unknown_keys.length > 0
      ? h("p", { class: "muted", "data-testid": "validators-unknown" }, `${status.unknown_keys.length} listed ${status.unknown_keys.length === 1 ? "key is" : "keys are"} not known to the beacon node yet (a deposit not yet seen?).`)
      : null,
    notes.length > 0 ? h("ul", { class: "muted small source-notes" }, ...notes) : null,
  ];
  section.append(...parts.filter((p): p is HTMLElement => p !== null));
  return section;
}
