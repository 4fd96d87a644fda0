// Alerts: a manager's open alerts (pushed by the backend, nothing to ask)
// and its recently resolved ones, acknowledged or muted from here; the
// same actions serve the Alerts view across managers.

import { ask, messageOf } from "../api";
import { type AlertActions, type Listed, alertList } from "../alerts";
import type { Capability, Context } from "../capability";
import { h } from "../dom";

/** Resolved alerts a manager's page shows (the Alerts view shows more). */
const RESOLVED_SHOWN = 5;

/** What an alert's buttons do: ask its manager, and say how it went (the change itself comes back pushed, for every app). */
export function alertActions(ctx: Context): AlertActions {
  const act = async (item: Listed, work: Promise<unknown>, done: string): Promise<void> => {
    try {
      await work;
      ctx.say(`${item.manager.name}: ${done}.`);
    } catch (error) {
      ctx.say(`${item.manager.name}: ${messageOf(error)}`);
    }
  };
  return {
    acknowledge: (item) => void act(item, ask(item.manager.key, "alerts.ack", { id: item.alert.id }), "alert acknowledged"),
    mute: (item, secs) =>
      void act(
        item,
        ask(item.manager.key, "alerts.mute", { id: item.alert.id, for_secs: secs }),
        secs === 0 ? "alert unmuted" : "alert muted",
      ),
  };
}

/** What the panel remembers per manager across redraws. */
export interface AlertsPanelState {
  /** Whether "Recently resolved" is unfolded. */
  showResolved: boolean;
}

export const alerts: Capability<AlertsPanelState> = {
  name: "alerts",
  capability: "alerts",
  order: 5,
  empty: () => ({ showResolved: false }),

  section(ctx, manager) {
    if (!manager.capabilities.includes("alerts")) return null;
    const now = ctx.now();
    const actions = alertActions(ctx);
    const open = manager.alerts.map((alert) => ({ manager, alert }));
    const resolved = (manager.resolved ?? []).slice(0, RESOLVED_SHOWN).map((alert) => ({ manager, alert }));
    const title = h("h3", { id: "alerts-title" }, "Alerts");
    const state = ctx.store.get(manager.key, alerts);
    return h(
      "section",
      { class: "host alerts-panel", "aria-labelledby": "alerts-title", "data-testid": "alerts-panel" },
      h("div", { class: "section-header" }, title, h("span", { class: "muted" }, open.length === 0 ? "none open" : `${open.length} open`)),
      alertList(open, now, actions, false, "No open alerts: the manager's rules all hold."),
      resolved.length > 0
        ? folded(
            state.showResolved,
            (open) => ctx.store.set(manager.key, alerts, { showResolved: open }),
            `Recently resolved (${resolved.length})`,
            alertList(resolved, now, actions, false, ""),
          )
        : null,
    );
  },
};

/** A `<details>` that stays as the person left it when the page is drawn again. */
function folded(open: boolean, toggled: (open: boolean) => void, label: string, body: HTMLElement): HTMLElement {
  const details = h("details", { class: "resolved", "data-testid": "resolved-alerts", open }, h("summary", {}, label), body);
  details.addEventListener("toggle", () => toggled(details.open));
  return details;
}
