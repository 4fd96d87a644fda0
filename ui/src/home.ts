// The top bar: what NodePair is, which build runs, and the one button that starts a pairing.

import type { AppInfo } from "./app_info";
import logoUrl from "./assets/logo.svg";
import { h } from "./dom";

/** The top bar; `onPair` starts a pairing (the button is disabled until the backend runs). */
export function renderTopbar(info: AppInfo, onPair: () => void): { bar: HTMLElement; pair: HTMLButtonElement } {
  const pair = h("button", { type: "button", class: "primary", "data-testid": "pair-button", disabled: true }, "Pair a manager");
  pair.addEventListener("click", onPair);
  const bar = h(
    "header",
    { class: "topbar" },
    h("img", { class: "logo", src: logoUrl, alt: "", width: "32", height: "32" }),
    h("div", { class: "brand" }, h("h1", { id: "home-title" }, info.name), h("span", { class: "version", "data-testid": "version" }, `Version ${info.version}`)),
    h("span", { class: "spacer" }),
    pair,
  );
  return { bar, pair };
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
