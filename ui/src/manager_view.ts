// One manager: who it is, how its session stands, and a section per
// capability it offers (controllers/), in their order.

import type { ManagerRow } from "./api";
import type { Context } from "./capability";
import { CAPABILITIES } from "./controllers";
import { button, h } from "./dom";
import { lastSeenLabel, latencyLabel, stateLabel } from "./node_state";
import { fact } from "./widgets";

/** What the header's buttons do. */
export interface ManagerActions {
  back: () => void;
  rename: () => void;
  unpair: () => void;
}

/** The capabilities a manager lets this app use, as people read them. */
export function grantedLabel(capabilities: string[]): string {
  const shown = capabilities.filter((c) => c !== "info");
  return shown.length === 0 ? "nothing but who it is" : shown.join(", ");
}

/** Renders the view of `manager` into `root`. */
export function renderManager(root: HTMLElement, ctx: Context, manager: ManagerRow, actions: ManagerActions): void {
  const state = stateLabel(manager.state);
  const header = h(
    "div",
    { class: "manager-header" },
    button("← All managers", actions.back, { class: "quiet back", "data-testid": "back" }),
    h(
      "div",
      { class: "title-row" },
      h("h2", { id: "manager-title", "data-testid": "manager-name" }, manager.name),
      h("span", { class: `badge ${state.tone}`, title: state.hint, "data-testid": "state" }, state.label),
      h("span", { class: "spacer" }),
      // Together: in a narrow window they move under the name as a pair.
      h(
        "span",
        { class: "title-actions" },
        button("Rename", actions.rename, { "data-testid": "rename-button" }),
        button("Unpair", actions.unpair, { class: "danger-outline", "data-testid": "unpair-button" }),
      ),
    ),
    h(
      "dl",
      { class: "facts" },
      manager.renamed ? fact("Calls itself", manager.ownName) : null,
      fact("Key", manager.fingerprint),
      fact("Node id", manager.nodeId),
      fact("Paired", new Date(manager.pairedAt * 1000).toLocaleDateString()),
      // What its operator lets this app use: all it offers, or less
      // (`nodepair-manager grant`). Sections below follow this list.
      fact("May use", grantedLabel(manager.capabilities), "granted"),
      fact("Round trip", latencyLabel(manager.state === "online" ? manager.latencyMs : null), "latency"),
      fact("Last heard", lastSeenLabel(manager.lastSeen, ctx.now())),
    ),
  );
  const sections = CAPABILITIES.map((c) => c.section(ctx, manager)).filter((s): s is HTMLElement => s !== null);
  root.replaceChildren(header, ...sections);
}
