// Entry point: asks the backend who we are, shows the first screen, keeps
// the list of paired managers up to date, and runs pairings.

import { loadAppInfo } from "./app_info";
import { h } from "./dom";
import { renderHome, renderStartupError } from "./home";
import { type ManagersView, loadManagers, renderManagers, watchManagers } from "./managers";
import {
  type PairingView,
  cancelPairing,
  renderPairing,
  startPairing,
  watchPairing,
} from "./pairing";

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
  const pairingSection = h("section", {
    class: "card pairing-card",
    "aria-labelledby": "pairing-title",
    hidden: true,
  });
  const managersSection = h("section", {
    class: "card managers-card",
    "aria-labelledby": "managers-title",
    "aria-live": "polite",
  });
  root.append(pairingSection, managersSection);

  let pairing: PairingView | null = null;
  let pairingError: string | null = null;
  const showPairing = (): void => {
    if (pairingError) {
      pairingSection.hidden = false;
      pairingSection.replaceChildren(
        h("h2", { id: "pairing-title" }, "Pair a manager"),
        h("p", { class: "notice bad", role: "alert" }, pairingError),
      );
      return;
    }
    pairingSection.hidden = pairing === null;
    if (pairing) renderPairing(pairingSection, pairing, now(), actions);
  };
  const begin = async (): Promise<void> => {
    try {
      pairingError = null;
      pairing = await startPairing();
    } catch (error) {
      pairing = null;
      pairingError = error instanceof Error ? error.message : String(error);
    }
    showPairing();
  };
  const actions = {
    cancel: () => void cancelPairing(),
    newCode: () => void begin(),
    close: () => {
      pairing = null;
      pairingError = null;
      showPairing();
    },
  };

  let latest: ManagersView | null = null;
  const showManagers = (view: ManagersView): void => {
    latest = view;
    renderManagers(managersSection, view, now(), () => void begin());
  };
  // Listen before asking, so a change in between is not missed.
  await watchPairing((view) => {
    if (pairing && view.code === pairing.code) {
      pairing = view;
      showPairing();
    }
  });
  await watchManagers(showManagers);
  showManagers(await loadManagers());
  setInterval(() => {
    if (pairing?.phase === "waiting" || pairing?.phase === "verifying") showPairing();
  }, 1000);
  setInterval(() => latest && showManagers(latest), RELABEL_MS);
}

const root = document.getElementById("app");
if (root) void start(root);
