// Alerts as the window shows them: one item per alert (what, since when,
// who saw it, acknowledge and mute), the filters of the Alerts view, and
// the health line of a managers row.

import type { ManagerRow } from "./api";
import type * as gen from "./bindings";
import { button, h } from "./dom";
import { lastSeenLabel } from "./node_state";

export type Alert = gen.Alert_Serialize;
export type NodeHealth = gen.NodeHealth;

/** An alert with the manager that reported it. */
export interface Listed {
  manager: ManagerRow;
  alert: Alert;
}

/** What an alert's buttons do. */
export interface AlertActions {
  acknowledge: (item: Listed) => void;
  /** Mutes for `secs` (0 unmutes). */
  mute: (item: Listed, secs: number) => void;
}

/** Where an alert stands, for the filters and its look. */
export type AlertState = "open" | "acknowledged" | "muted" | "resolved";

const SEVERITY_RANK: Record<Alert["severity"], number> = { info: 0, warning: 1, critical: 2 };

/** A severity's label and tone: info is news, not trouble. */
export function severityLabel(severity: Alert["severity"]): { label: string; tone: string } {
  if (severity === "critical") return { label: "Critical", tone: "bad" };
  if (severity === "warning") return { label: "Warning", tone: "busy" };
  return { label: "Info", tone: "idle" };
}

/** The filters of the Alerts view. */
export interface AlertFilter {
  /** A manager's key, or every manager. */
  manager: string | "all";
  severity: "all" | Alert["severity"];
  /** Open (acknowledged and muted ones too), resolved, or both. */
  state: "open" | "resolved" | "all";
}

export const NO_FILTER: AlertFilter = { manager: "all", severity: "all", state: "open" };

/** How long a mute lasts, as offered. */
export const MUTE_CHOICES: readonly { secs: number; label: string }[] = [
  { secs: 3600, label: "1 hour" },
  { secs: 8 * 3600, label: "8 hours" },
  { secs: 86400, label: "1 day" },
  { secs: 7 * 86400, label: "1 week" },
];

const RULES: Record<string, string> = {
  disk_free: "Disk space",
  memory: "Memory",
  load: "Load",
  consensus_sync: "Consensus sync",
  execution_sync: "Execution sync",
  peers: "Peers",
  endpoint: "Endpoint",
  unit_down: "Service down",
  unit_restarts: "Service restarting",
  manager_restarted: "Manager restarted",
  validator_missed: "Attestations missed",
  validator_balance: "Balance fell",
  validator_slashed: "Slashed",
  validator_exited: "Validator exiting",
  validator_proposal: "Block proposal",
  unknown: "Other",
};

/** The rule's name for people; an unknown one (a newer manager) as it is. */
export function ruleLabel(rule: string): string {
  return RULES[rule] ?? rule;
}

/** Where `alert` stands at `nowMs`. */
export function alertState(alert: Alert, nowMs: number): AlertState {
  if (alert.resolved_at_ms != null) return "resolved";
  if (alert.muted_until_ms != null && alert.muted_until_ms > nowMs) return "muted";
  if (alert.acknowledged) return "acknowledged";
  return "open";
}

/** Every alert of `managers` (open ones and the recently resolved), open first, worst first, newest first. */
export function listAlerts(managers: readonly ManagerRow[]): Listed[] {
  const all: Listed[] = managers.flatMap((manager) =>
    [...manager.alerts, ...(manager.resolved ?? [])].map((alert) => ({ manager, alert })),
  );
  const rank = (a: Alert) => (a.resolved_at_ms == null ? 3 : 0) + SEVERITY_RANK[a.severity];
  return all.sort((x, y) => rank(y.alert) - rank(x.alert) || (y.alert.resolved_at_ms ?? y.alert.last_seen_ms) - (x.alert.resolved_at_ms ?? x.alert.last_seen_ms));
}

/** The alerts `filter` lets through. */
export function filterAlerts(items: readonly Listed[], filter: AlertFilter): Listed[] {
  return items.filter(({ manager, alert }) => {
    if (filter.manager !== "all" && manager.key !== filter.manager) return false;
    if (filter.severity !== "all" && alert.severity !== filter.severity) return false;
    const resolved = alert.resolved_at_ms != null;
    if (filter.state === "open" && resolved) return false;
    if (filter.state === "resolved" && !resolved) return false;
    return true;
  });
}

function clock(ms: number): string {
  return new Date(ms).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** One alert: its severity, what and since when, who acknowledged or muted it, and (while open) its buttons. */
export function alertItem(item: Listed, nowMs: number, actions: AlertActions, showManager: boolean): HTMLElement {
  const { manager, alert } = item;
  const state = alertState(alert, nowMs);
  const badge =
    state === "resolved"
      ? h("span", { class: "badge good" }, "Resolved")
      : h("span", { class: `badge ${severityLabel(alert.severity).tone}` }, severityLabel(alert.severity).label);
  const when = [
    `${ruleLabel(alert.rule)}${alert.subject ? ` · ${alert.subject}` : ""}`,
    `since ${lastSeenLabel(Math.floor(alert.first_seen_ms / 1000), nowMs)}`,
  ];
  if (alert.resolved_at_ms != null) when.push(`resolved ${lastSeenLabel(Math.floor(alert.resolved_at_ms / 1000), nowMs)}`);
  if (alert.acknowledged) when.push(`acknowledged by ${alert.acknowledged.by}`);
  if (state === "muted" && alert.muted_until_ms != null) {
    when.push(`muted until ${clock(alert.muted_until_ms)}${alert.muted_by ? ` by ${alert.muted_by}` : ""}`);
  }
  const readings = alert.readings.map((f) => `${f.name} ${f.value}`).join(" · ");
  const buttons =
    state === "resolved"
      ? null
      : h(
          "span",
          { class: "row-actions" },
          alert.acknowledged
            ? null
            : button("Acknowledge", () => actions.acknowledge(item), {
                class: "quiet",
                "data-testid": "acknowledge",
                "aria-label": `Acknowledge: ${alert.summary}`,
              }),
          state === "muted" ? button("Unmute", () => actions.mute(item, 0), { class: "quiet", "data-testid": "unmute" }) : muteChoice(item, actions),
        );
  return h(
    "li",
    {
      class: `alert-item ${alert.severity} ${state}`,
      "data-testid": "alert",
      "data-key": manager.key,
      "data-id": String(alert.id),
      "data-state": state,
      "data-severity": alert.severity,
    },
    badge,
    h(
      "div",
      { class: "what" },
      h("span", { class: "summary", "data-testid": "alert-summary" }, showManager ? `${manager.name}: ${alert.summary}` : alert.summary),
      h("span", { class: "muted when", "data-testid": "alert-when" }, when.join(" · ")),
      readings ? h("span", { class: "muted readings" }, readings) : null,
    ),
    buttons,
  );
}

function muteChoice(item: Listed, actions: AlertActions): HTMLElement {
  const select = h(
    "select",
    { class: "quiet", "data-testid": "mute", "aria-label": `Mute: ${item.alert.summary}` },
    h("option", { value: "" }, "Mute…"),
    ...MUTE_CHOICES.map((c) => h("option", { value: String(c.secs) }, `for ${c.label}`)),
  );
  select.addEventListener("change", () => {
    const secs = Number(select.value);
    if (secs > 0) actions.mute(item, secs);
  });
  return select;
}

/** The list of `items`, or `empty` in words. */
export function alertList(items: readonly Listed[], nowMs: number, actions: AlertActions, showManager: boolean, empty: string): HTMLElement {
  if (items.length === 0) return h("p", { class: "muted", "data-testid": "no-alerts" }, empty);
  return h("ul", { class: "alerts" }, ...items.map((i) => alertItem(i, nowMs, actions, showManager)));
}

/** The health line of a managers row, or nothing when its node is not watched (or it is offline). */
export function healthLine(health: NodeHealth | null | undefined): HTMLElement | null {
  if (!health) return null;
  const tone = health.level === "synced" ? "good" : health.level === "behind" ? "busy" : "bad";
  return h("span", { class: `health-line ${tone}`, "data-testid": "node-health", "data-level": health.level }, health.line);
}

/** How many open alerts, not muted and not info, `managers` have: the Alerts button's count. */
export function openCount(managers: readonly ManagerRow[], nowMs: number): number {
  return managers.reduce((n, m) => n + m.alerts.filter((a) => a.severity !== "info" && alertState(a, nowMs) !== "muted").length, 0);
}
