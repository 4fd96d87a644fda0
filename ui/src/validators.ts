// A manager's validators: a table of what the beacon node says of each
// (status, balance, its changes, liveness over the last epochs, the last
// attestation reward, the next proposal and sync-committee duty), a page
// of 100 at a time, and how each source read.

import type { ResponseOf } from "./api";
import { button, h } from "./dom";
import { errorLabel } from "./eth";
import { lastSeenLabel } from "./node_state";

export type ValidatorsStatus = ResponseOf<"validators.status">;
type View = Extract<ValidatorsStatus["validators"], { value: unknown }>["value"][number];

/** What the window knows of one manager's validators. */
export interface ValidatorsState {
  status: ValidatorsStatus | null;
  error: string | null;
  /** The last index of each page before the one shown (empty: the first page). */
  pages: number[];
}

/** What the section's buttons do. */
export interface ValidatorsActions {
  /** Shows the page after the one shown (true) or before it (false). */
  turn(forward: boolean): void;
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
  const n = `${s.count.toLocaleString("en-US")} ${s.count === 1 ? "validator" : "validators"}`;
  const parts = [n];
  if (s.missed > 0) parts.push(`${s.missed.toLocaleString("en-US")} missed`);
  if (s.slashed > 0) parts.push(`${s.slashed.toLocaleString("en-US")} slashed`);
  return parts.join(" · ");
}

/** The managers row's line about its validators, or nothing when it watches none. */
export function validatorsLine(s: ValidatorsStatus["summary"] | null | undefined): HTMLElement | null {
  if (!s || s.count === 0) return null;
  const tone = s.slashed > 0 ? "bad" : s.missed > 0 ? "busy" : "good";
  return h("span", { class: `health-line ${tone}`, "data-testid": "validators-line" }, validatorsSummary(s));
}

function liveLabel(v: View): string {
  return v.live.judged === 0 ? "–" : `${v.live.live}/${v.live.judged}`;
}

/** "40 s", "11 min", "3 h", "2 d". */
function span(ms: number): string {
  const secs = Math.max(0, Math.round(ms / 1000));
  if (secs < 60) return `${secs} s`;
  if (secs < 3600) return `${Math.round(secs / 60)} min`;
  if (secs < 2 * 86400) return `${Math.round(secs / 3600)} h`;
  return `${Math.round(secs / 86400)} d`;
}

/** The next proposal and the sync-committee duty, as far as known. */
function duty(v: View, nowMs: number): string {
  const parts: string[] = [];
  const p = v.next_proposal;
  if (p) {
    if (p.at_ms == null) parts.push(`proposal at slot ${p.slot.toLocaleString("en-US")}`);
    else if (p.at_ms <= nowMs) parts.push("proposing now");
    else parts.push(`proposal in ${span(p.at_ms - nowMs)}`);
  }
  const c = v.sync_committee;
  if (c) {
    if (c.from_ms == null || c.until_ms == null) parts.push(`sync committee from epoch ${c.from_epoch}`);
    else if (c.from_ms <= nowMs) parts.push(`sync committee, ${span(c.until_ms - nowMs)} left`);
    else parts.push(`sync committee in ${span(c.from_ms - nowMs)}`);
  }
  return parts.length > 0 ? parts.join(" · ") : "–";
}

function sourceNote(name: string, reading: { error: { kind: string; message: string } } | { value: unknown } | null): HTMLElement | null {
  if (!reading || "value" in reading) return null;
  const kind = reading.error.kind as Parameters<typeof errorLabel>[0]["kind"];
  return h("li", { "data-testid": `source-${name}` }, `${name}: ${errorLabel({ kind, message: reading.error.message })} — ${reading.error.message}`);
}

/** The validators section of a manager's view. */
export function validatorsSection(state: ValidatorsState, nowMs: number, actions: ValidatorsActions): HTMLElement {
  const section = h("section", { class: "host validators", "aria-labelledby": "validators-title", "data-testid": "validators" });
  const title = h("h3", { id: "validators-title" }, "Validators");
  const status = state.status;
  if (!status) {
    section.append(title, h("p", { class: state.error ? "notice bad" : "muted", role: "status" }, state.error ?? "Asking…"));
    return section;
  }
  const read = status.read_at_ms === 0 ? "not read yet" : `read ${lastSeenLabel(Math.floor(status.read_at_ms / 1000), nowMs)}`;
  const header = h("div", { class: "section-header" }, title, h("span", { class: "muted", "data-testid": "validators-summary" }, `${validatorsSummary(status.summary)} · ${read}`));
  // The last answer stays on screen; a failed ask since says so above it.
  const stale = state.error ? h("p", { class: "notice bad", role: "alert", "data-testid": "validators-ask-error" }, `Not updated: ${state.error}`) : null;
  if ("error" in status.validators) {
    put(section, header, stale, h("p", { class: "notice bad", role: "alert", "data-testid": "validators-error" }, `${errorLabel(status.validators.error)}: ${status.validators.error.message}`));
    return section;
  }
  const views = status.validators.value;
  if (views.length === 0 && state.pages.length === 0) {
    put(section, header, stale, h("p", { class: "muted" }, "No validators: the operator lists them in [validators] of manager.toml, or names the validator client's keymanager."));
    return section;
  }
  const head = h(
    "tr",
    {},
    ...["Index", "Key", "Status", "Balance", "Last epoch", "1 day", "Live, 10 epochs", "Reward", "Next duty"].map((t) => h("th", { scope: "col" }, t)),
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
      h("td", { class: "duty", "data-testid": "validator-duty" }, duty(v, nowMs)),
    );
  });
  const notes = [
    sourceNote("liveness", status.liveness),
    sourceNote("rewards", status.rewards),
    sourceNote("proposer duties", status.duties),
    sourceNote("sync-committee duties", status.sync_duties),
    sourceNote("keymanager", status.keymanager),
  ].filter((n): n is HTMLElement => n !== null);
  const first = state.pages.length * 100 + 1;
  const paging =
    status.more || state.pages.length > 0
      ? h(
          "div",
          { class: "pager", "data-testid": "validators-pages" },
          button("Previous", () => actions.turn(false), { class: "quiet", "data-testid": "validators-previous", ...(state.pages.length === 0 ? { disabled: "" } : {}) }),
          h("span", { class: "muted" }, `${first.toLocaleString("en-US")}–${(first + views.length - 1).toLocaleString("en-US")} of ${status.summary.count.toLocaleString("en-US")}`),
          button("Next", () => actions.turn(true), { class: "quiet", "data-testid": "validators-next", ...(status.more ? {} : { disabled: "" }) }),
        )
      : null;
  const unknown = status.unknown_count;
  put(
    section,
    header,
    stale,
    h("div", { class: "table-scroll" }, h("table", { class: "validators-table" }, h("thead", {}, head), h("tbody", {}, ...rows))),
    paging,
    unknown > 0
      ? h(
          "p",
          { class: "muted", "data-testid": "validators-unknown", title: status.unknown_keys.join("\n") },
          `${unknown.toLocaleString("en-US")} listed ${unknown === 1 ? "validator is" : "validators are"} not known to the beacon node yet (a deposit not yet seen?).`,
        )
      : null,
    notes.length > 0 ? h("ul", { class: "muted small source-notes" }, ...notes) : null,
  );
  return section;
}

/** Appends the parts there are. */
function put(section: HTMLElement, ...parts: (HTMLElement | null)[]): void {
  for (const p of parts) if (p) section.append(p);
}
