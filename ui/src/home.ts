// The first screen: what NodePair is, and which build is running.

import type { AppInfo } from "./app_info";
import logoUrl from "./assets/logo.svg";
import { h } from "./dom";

/** Renders the first screen into `root`, replacing what was there. */
export function renderHome(root: HTMLElement, info: AppInfo): void {
  root.replaceChildren(
    h(
      "section",
      { class: "home", "aria-labelledby": "home-title" },
      h("img", { class: "logo", src: logoUrl, alt: "", width: "64", height: "64" }),
      h("h1", { id: "home-title" }, info.name),
      h("p", { class: "version", "data-testid": "version" }, `Version ${info.version}`),
      h(
        "p",
        { class: "lede" },
        "Pair this app once with the node managers on your servers, then watch and " +
          "operate your Ethereum nodes from here — over the Waku network, with no " +
          "public IP, no port forward and no server in between.",
      ),
    ),
  );
}

/** Renders a failure to start, in words a person can act on. */
export function renderStartupError(root: HTMLElement, error: unknown): void {
  const detail = error instanceof Error ? error.message : String(error);
  root.replaceChildren(
    h(
      "section",
      { class: "home error", role: "alert" },
      h("h1", {}, "NodePair could not start"),
      h("p", {}, "The window could not reach the app's backend. Restart NodePair; if this keeps happening, run it from a terminal and report what it prints."),
      h("pre", { class: "detail" }, detail),
    ),
  );
}
