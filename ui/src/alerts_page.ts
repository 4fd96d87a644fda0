// The Alerts view: every manager's alerts in one list, filtered by
// manager, severity and whether they are open.

import type { ManagersView } from "./api";
import { type AlertActions, type AlertFilter, alertList, filterAlerts, listAlerts } from "./alerts";
import { button, h } from "./dom";

/** What the page's controls do. */
export interface AlertsPageActions extends AlertActions {
  back: () => void;
  filter: (next: AlertFilter) => void;
}

function choice<V extends string>(
  testid: string,
  label: string,
  value: V,
  options: readonly [V, string][],
  pick: (value: V) => void,
): HTMLElement {
  const select = h(
    "select",
    { "data-testid": testid, "aria-label": label },
    ...options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
  );
  select.addEventListener("change", () => pick(select.value as V));
  return h("label", { class: "filter" }, h("span", { class: "muted" }, label), select);
}

/** Renders the Alerts view into `root`. */
export function renderAlertsPage(root: HTMLElement, view: ManagersView, filter: AlertFilter, nowMs: number, actions: AlertsPageActions): void {
  const all = listAlerts(view.managers);
  const shown = filterAlerts(all, filter);
  const watching = view.managers.filter((m) => m.capabilities.includes("alerts"));
  const header = h(
    "div",
    { class: "manager-header" },
    button("← All managers", actions.back, { class: "quiet back", "data-testid": "back" }),
    h("div", { class: "title-row" }, h("h2", { id: "alerts-page-title" }, "Alerts"), h("span", { class: "count muted", "data-testid": "alerts-shown" }, `${shown.length} of ${all.length}`)),
  );
  const filters = h(
    "div",
    { class: "filters", role: "group", "aria-label": "Filters" },
    choice("filter-manager", "Manager", filter.manager, [["all", "All managers"], ...view.managers.map((m): [string, string] => [m.key, m.name])], (manager) =>
      actions.filter({ ...filter, manager }),
    ),
    choice("filter-severity", "Severity", filter.severity, [
      ["all", "Any severity"],
      ["critical", "Critical"],
      ["warning", "Warning"],
      ["info", "Info"],
    ], (severity) => actions.filter({ ...filter, severity })),
    choice("filter-state", "State", filter.state, [
      ["open", "Open"],
      ["resolved", "Resolved"],
      ["all", "Open and resolved"],
    ], (state) => actions.filter({ ...filter, state })),
  );
  const empty =
    watching.length === 0
      ? "No paired manager offers alerts: its operator turns them on with the alerts capability in manager.toml."
      : all.length === 0
        ? "No alerts: every rule holds on every manager."
        : "No alert matches these filters.";
  root.replaceChildren(header, filters, alertList(shown, nowMs, actions, true, empty));
}
