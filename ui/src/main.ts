// Entry point: asks the backend who we are, shows the first screen, and
// keeps the list of paired managers up to date.

import { loadAppInfo } from "./app_info";
import { h } from "./dom";
import { renderHome, renderStartupError } from "./home";
import { type ManagersView, loadManagers, renderManagers, watchManagers } from "./managers";

/** How often "last seen" labels are refreshed without any event. */
const RELABEL_MS = 30_000;

/** Mounts the UI into the page's `#app` element. */
export async function start(root: HTMLElement, now: () => number = Date.now): Promise<void> {
  try {
    renderHome(root, await loadAppInfo());
  } catch (error) {
    renderStartupError(root, error);
    return;
  }
  const section = h("section", {
    class: "card managers-card",
    "aria-labelledby": "managers-title",
    "aria-live": "polite",
  });
  root.append(section);
  let latest: ManagersView | null = null;
  const show = (view: ManagersView): void => {
    latest = view;
    renderManagers(section, view, now());
  };
  // Listen before asking, so a change in between is not missed.
  await watchManagers(show);
  show(await loadManagers());
  setInterval(() => latest && renderManagers(section, latest, now()), RELABEL_MS);
}

const root = document.getElementById("app");
if (root) void start(root);
