// Entry point: asks the backend who we are and shows the first screen.

import { loadAppInfo } from "./app_info";
import { renderHome, renderStartupError } from "./home";

/** Mounts the UI into the page's `#app` element. */
export async function start(root: HTMLElement): Promise<void> {
  try {
    renderHome(root, await loadAppInfo());
  } catch (error) {
    renderStartupError(root, error);
  }
}

const root = document.getElementById("app");
if (root) void start(root);
