// The list of paired managers, as the backend reports them, kept up to date live.

import type { ManagerRow, ManagersView } from "./api";
import { healthLine, severityLabel } from "./alerts";
import { button, h } from "./dom";
import { lastSeenLabel, latencyLabel, stateLabel } from "./node_state";
import { validatorsLine } from "./validators";

/** What the list's buttons do. */
export interface ListActions {
  open: (manager: ManagerRow) => void;
  rename: (manager: ManagerRow) => void;
  unpair: (manager: ManagerRow) => void;
}

/** Renders the list (or why there is none) into `root`. */
export function renderManagers(
  root: HTMLElement,
  view: ManagersView,
  nowMs: number,
  actions: ListActions,
): void {
  const heading = h("h2", { id: "managers-title" }, "Managers");
  const count =
    view.backend === "running" && view.managers.length > 0
      ? h("span", { class: "count muted" }, summary(view.managers))
      : null;
  const title = h("div", { class: "card-header" }, h("div", { class: "title" }, heading, count));
  if (view.backend === "failed") {
    root.replaceChildren(
      title,
      h(
        "div",
        { class: "notice bad", role: "alert" },
        h("p", {}, "NodePair could not connect to the Waku network or open its keys."),
        h("pre", { class: "detail" }, view.error ?? "unknown error"),
      ),
    );
    return;
  }
  if (view.backend !== "running") {
    root.replaceChildren(title, h("p", { class: "muted", role: "status" }, "Starting…"));
    return;
  }
  if (view.managers.length === 0) {
    root.replaceChildren(
      title,
      h(
        "div",
        { class: "empty", "data-testid": "no-managers" },
        h("p", {}, "No managers paired yet."),
        h(
          "p",
          { class: "muted" },
          "Run nodepair-manager on the server next to your Ethereum node, then pair it here: " +
            "press Pair a manager above, and this app shows a short code that you type on the server. " +
            "From then on the two find each other over the Waku network — no public IP, no port forward.",
        ),
      ),
    );
    return;
  }
  const rows = view.managers.map((m) => {
    const state = stateLabel(m.state);
    const open = button(m.name, () => actions.open(m), {
      class: "name link",
      "data-testid": "open-manager",
      title: `Open ${m.name}`,
    });
    return h(
      "li",
      { class: "manager", "data-testid": "manager", "data-state": m.state, "data-key": m.key },
      h(
        "div",
        { class: "who" },
        open,
        h(
          "span",
          { class: "fingerprint", title: `node id ${m.nodeId}` },
          m.renamed ? `${m.ownName} · ${m.fingerprint}` : m.fingerprint,
        ),
        healthLine(m.health),
        validatorsLine(m.validators),
        worstAlert(m, nowMs),
      ),
      h("span", { class: `badge ${state.tone}`, title: state.hint, "data-testid": "state" }, state.label),
      h(
        "span",
        { class: "latency", title: "Round trip of the encrypted session", "data-testid": "latency" },
        h("span", { class: "cell-label" }, "Round trip "),
        // Only an open session has a round trip; an old one would mislead.
        h("span", { class: "value" }, latencyLabel(m.state === "online" ? m.latencyMs : null)),
      ),
      h(
        "span",
        { class: "seen", title: "When the manager's last message arrived", "data-testid": "last-heard" },
        h("span", { class: "cell-label" }, "Last heard "),
        h("span", { class: "value" }, lastSeenLabel(m.lastSeen, nowMs)),
      ),
      h(
        "span",
        { class: "row-actions" },
        button("Rename", () => actions.rename(m), { class: "quiet", "data-testid": "rename-button", "aria-label": `Rename ${m.name}` }),
        button("Unpair", () => actions.unpair(m), { class: "quiet danger-outline", "data-testid": "unpair-button", "aria-label": `Unpair ${m.name}` }),
      ),
    );
  });
  // Column headings; each cell also carries its own (shown when the row
  // folds up in a narrow window) for screen readers.
  const head = h(
    "div",
    { class: "managers-head", "aria-hidden": "true", "data-testid": "managers-head" },
    h("span", {}, "Manager"),
    h("span", {}, "State"),
    h("span", { class: "num" }, "Round trip"),
    h("span", { class: "num" }, "Last heard"),
    h("span", {}),
  );
  root.replaceChildren(title, head, h("ul", { class: "managers", "aria-labelledby": "managers-title" }, ...rows));
}

/** The worst open alert of `m` (the backend sends them worst first), how many more, and whether it is muted now. */
function worstAlert(m: ManagerRow, nowMs: number): HTMLElement | null {
  const [worst, ...rest] = m.alerts;
  if (!worst) return null;
  const more = rest.length > 0 ? ` (and ${rest.length} more)` : "";
  const muted = worst.muted_until_ms != null && worst.muted_until_ms > nowMs ? " · muted" : "";
  return h(
    "span",
    { class: `alert-line ${worst.severity}`, "data-testid": "worst-alert", "data-severity": worst.severity, title: worst.summary },
    `${severityLabel(worst.severity).label}: ${worst.summary}${more}${muted}`,
  );
}

/** "3 managers · 2 online". */
export function summary(managers: ManagerRow[]): string {
  const online = managers.filter((m) => m.state === "online").length;
  const n = managers.length;
  return `${n} ${n === 1 ? "manager" : "managers"} · ${online} online`;
}
