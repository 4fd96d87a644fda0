// The paired managers, as the backend reports them, kept up to date live.

import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import { h } from "./dom";
import { lastSeenLabel, latencyLabel, stateLabel } from "./node_state";

/** One paired manager (the backend's `ManagerRow`). */
export interface ManagerRow {
  name: string;
  nodeId: string;
  fingerprint: string;
  state: string;
  latencyMs: number | null;
  lastSeen: number | null;
}

/** The managers and whether the backend is up (the backend's `ManagersView`). */
export interface ManagersView {
  backend: "starting" | "running" | "failed";
  error: string | null;
  managers: ManagerRow[];
}

/** Asks the backend for the managers now. */
export function loadManagers(): Promise<ManagersView> {
  return invoke<ManagersView>("managers");
}

/** Calls `onChange` with the new list whenever a manager changes. */
export function watchManagers(onChange: (view: ManagersView) => void): Promise<UnlistenFn> {
  return listen<ManagersView>("managers-changed", (event) => onChange(event.payload));
}

/** Renders the list (or why there is none) into `root`; `onPair` starts a pairing. */
export function renderManagers(
  root: HTMLElement,
  view: ManagersView,
  nowMs: number,
  onPair?: () => void,
): void {
  const heading = h("h2", { id: "managers-title" }, "Managers");
  let title: HTMLElement = heading;
  if (onPair && view.backend === "running") {
    const pair = h("button", { type: "button", class: "primary", "data-testid": "pair-button" }, "Pair a manager");
    pair.addEventListener("click", onPair);
    title = h("div", { class: "card-header" }, heading, pair);
  }
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
  if (view.backend === "starting") {
    root.replaceChildren(title, h("p", { class: "muted", role: "status" }, "Starting…"));
    return;
  }
  if (view.managers.length === 0) {
    root.replaceChildren(
      title,
      h(
        "p",
        { class: "muted", "data-testid": "no-managers" },
        "No managers paired yet. Pair one with the button above, or from a terminal with ",
        h("code", {}, "nodepair pair"),
        ".",
      ),
    );
    return;
  }
  const rows = view.managers.map((m) => {
    const state = stateLabel(m.state);
    return h(
      "li",
      { class: "manager", "data-testid": "manager", "data-state": m.state },
      h(
        "div",
        { class: "who" },
        h("span", { class: "name" }, m.name),
        h("span", { class: "fingerprint", title: `node id ${m.nodeId}` }, m.fingerprint),
      ),
      h("span", { class: `badge ${state.tone}`, title: state.hint }, state.label),
      h("span", { class: "latency", title: "keepalive round trip" }, latencyLabel(m.latencyMs)),
      h("span", { class: "seen" }, lastSeenLabel(m.lastSeen, nowMs)),
    );
  });
  root.replaceChildren(title, h("ul", { class: "managers", "aria-labelledby": "managers-title" }, ...rows));
}
