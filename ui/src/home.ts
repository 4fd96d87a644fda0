// The top bar: what NodePair is, which build runs, the alerts, and the one button that starts a pairing.

import type { AppInfo } from "./app_info";
import logoUrl from "./assets/logo.svg";
import { h } from "./dom";

/** The top bar; `onPair` starts a pairing (the button is disabled until the backend runs), `onSettings` opens the settings, which the network chip does too, `onAlerts` the alerts of every manager. */
export function renderTopbar(
  info: AppInfo,
  onPair: () => void,
  onSettings: () => void,
  onAlerts: () => void,
): { bar: HTMLElement; pair: HTMLButtonElement; network: HTMLButtonElement; alerts: HTMLButtonElement } {
  const pair = h("button", { type: "button", class: "primary", "data-testid": "pair-button", disabled: true }, "Pair a manager");
  pair.addEventListener("click", onPair);
  const network = h("button", { type: "button", class: "chip quiet", "data-testid": "network-chip", "data-level": "looking", title: "The app's Waku network" }, "Network…");
  network.addEventListener("click", onSettings);
  const settings = h("button", { type: "button", class: "quiet", "data-testid": "settings-button" }, "Settings");
  settings.addEventListener("click", onSettings);
  const alerts = h("button", { type: "button", class: "quiet", "data-testid": "alerts-button" }, "Alerts");
  alerts.addEventListener("click", onAlerts);
  const bar = h(
    "header",
    { class: "topbar" },
    h("img", { class: "logo", src: logoUrl, alt: "", width: "32", height: "32" }),
    h("div", { class: "brand" }, h("h1", { id: "home-title" }, info.name), h("span", { class: "version", "data-testid": "version" }, `Version ${info.version}`)),
    h("span", { class: "spacer" }),
    network,
    alerts,
    settings,
    pair,
  );
  return { bar, pair, network, alerts };
}

/** Renders a failure to start, in words a person can act on. */
export function renderStartupError(root: HTMLElement, error: unknown): void {
  const detail = error instanceof Error ? error.message : String(error);
  root.replaceChildren(
    h(
      "section",
      { class: "card error", role: "alert" },
      h("h1", {}, "NodePair could not start"),
      h("p", {}, "The window could not reach the app's backend. Restart NodePair; if this keeps happening, run it from a terminal and report what it prints."),
      h("pre", { class: "detail" }, detail),
    ),
  );
}

/** The Alerts button: how many alerts are open and not muted, and whether one is critical. */
export function showAlertCount(button: HTMLButtonElement, open: number, critical: boolean): void {
  button.replaceChildren("Alerts", open > 0 ? h("span", { class: `count-badge${critical ? " critical" : ""}`, "data-testid": "alerts-count" }, String(open)) : "");
  button.title = open === 0 ? "No open alerts" : `${open} open ${open === 1 ? "alert" : "alerts"}`;
}
