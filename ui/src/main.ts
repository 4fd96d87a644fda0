// Entry point: the top bar, the managers list, one manager's page or the
// alerts of all, the pairing card and dialogs, kept up to date from the
// backend's events. What each capability asks and shows is its
// controller's (controllers/).

import { type ManagerRow, backend, messageOf, watchManagers, watchTray } from "./api";
import { loadAppInfo } from "./app_info";
import type { Context } from "./capability";
import { CAPABILITIES } from "./controllers";
import { PairingCard } from "./controllers/pairing";
import { ComputerCard } from "./controllers/computers";
import { showCutOff } from "./computers";
import { confirmAction, confirmUnpair, rename } from "./dialogs";
import { h } from "./dom";
import { type AlertFilter, NO_FILTER, alertState, openCount } from "./alerts";
import { renderAlertsPage } from "./alerts_page";
import { alertActions } from "./controllers/alerts";
import { renderStartupError, renderTopbar, showAlertCount } from "./home";
import { renderManager } from "./manager_view";
import { renderManagers } from "./managers";
import { networkState } from "./network_state";
import { renderSettings, showKey, showNetwork } from "./settings_page";
import { Store } from "./store";
import { renderUnlock } from "./unlock";
import type { View } from "./view_state";

/** How often "last seen" and freshness labels are refreshed without any event. */
const RELABEL_MS = 5000;
/** How often the page of an online manager asks its capabilities again. */
const REFRESH_MS = 5000;
/** How often the app's own network state is asked (the top bar's chip, the settings page). */
const NETWORK_MS = 2000;

/** Mounts the UI into `root`. */
export async function start(root: HTMLElement, now: () => number = Date.now): Promise<void> {
  let info;
  try {
    info = await loadAppInfo();
  } catch (error) {
    renderStartupError(root, error);
    return;
  }
  const { bar, pair, network, alerts } = renderTopbar(
    info,
    () => void card.begin(),
    () => go({ kind: "settings" }),
    () => go({ kind: "alerts" }),
  );
  const toast = h("p", { class: "toast", role: "status", "data-testid": "toast", hidden: true });
  const pairingSection = h("section", { class: "card pairing-card", "aria-labelledby": "pairing-title", hidden: true });
  const computerSection = h("section", { class: "card pairing-card", "aria-labelledby": "computer-title", "data-testid": "computer-card", hidden: true });
  const content = h("section", { class: "card content", "aria-live": "polite" });
  const overlay = h("div", { class: "overlay", hidden: true });
  root.replaceChildren(bar, toast, pairingSection, computerSection, content, overlay);

  const store = new Store();
  let toastTimer: ReturnType<typeof setTimeout> | undefined;
  const ctx: Context = {
    store,
    now,
    say: (message) => {
      toast.textContent = message;
      toast.hidden = false;
      clearTimeout(toastTimer);
      toastTimer = setTimeout(() => (toast.hidden = true), 8000);
    },
    confirm: (title, body, verb) => confirmAction(overlay, title, body, verb),
  };
  // One "Pair a manager" at a time: while the card shows, its own buttons
  // (Cancel, New code, Done) are the way on.
  const card = new PairingCard(ctx, pairingSection, (open) => (pair.hidden = open));
  // Adding a computer, on either side: opened from the settings page.
  const computerCard = new ComputerCard(ctx, computerSection);

  const go = (next: View): void => {
    const was = store.view;
    if (was.kind === "manager" && (next.kind !== "manager" || next.key !== was.key)) leave(was.key);
    store.view = next;
    show();
    if (next.kind === "manager") void refresh(next.key);
  };
  const leave = (key: string): void => {
    for (const c of CAPABILITIES) void c.leave?.(ctx, key);
  };
  const askRename = (m: ManagerRow): void =>
    rename(overlay, m, async (name) => {
      try {
        await backend.rename(m.key, name);
        return null;
      } catch (error) {
        return messageOf(error);
      }
    });
  const askUnpair = (m: ManagerRow): void =>
    confirmUnpair(overlay, m, async () => {
      try {
        const done = await backend.unpair(m.key);
        ctx.say(done.message);
        store.forget(m.key);
        if (store.showing(m.key)) go({ kind: "list" });
        return null;
      } catch (error) {
        return messageOf(error);
      }
    });

  // Re-rendering must not take the keyboard focus away: put it back on the
  // same control (same test id, same manager row).
  const show = (): void => {
    const active = document.activeElement as HTMLElement | null;
    const inside = active !== null && content.contains(active);
    const testid = inside ? active.getAttribute("data-testid") : null;
    const row = inside ? active.closest("[data-key]")?.getAttribute("data-key") : null;
    // Where the caret was in a text field: focus() alone selects the whole
    // text in WebKit, and the next key would replace it.
    const caret = active instanceof HTMLInputElement ? { start: active.selectionStart, end: active.selectionEnd } : null;
    render();
    if (testid && !content.contains(active)) {
      const selector = row ? `[data-key="${row}"] [data-testid="${testid}"]` : `[data-testid="${testid}"]`;
      const again = content.querySelector(selector) as HTMLElement | null;
      // Without scrolling to it: a page re-rendered by a live update must
      // not pull a reader back to the control they last touched.
      again?.focus({ preventScroll: true });
      if (again instanceof HTMLInputElement && caret?.start != null && caret.end != null) {
        again.setSelectionRange(caret.start, caret.end);
      }
    }
  };
  store.subscribe(show);
  let alertFilter: AlertFilter = NO_FILTER;
  const render = (): void => {
    const latest = store.managers;
    if (!latest) return;
    pair.disabled = latest.backend !== "running";
    const nowMs = now();
    showAlertCount(
      alerts,
      openCount(latest.managers, nowMs),
      latest.managers.some((m) => m.alerts.some((a) => a.severity === "critical" && alertState(a, nowMs) !== "muted")),
    );
    if (latest.backend === "locked" && latest.unlock) {
      if (!content.querySelector("[data-testid=unlock-form]") || latest.unlock.error) {
        renderUnlock(content, latest.unlock, (passphrase) => {
          void backend.unlock(passphrase).then(
            (next) => {
              store.offer(next);
              show();
            },
            (error) => ctx.say(messageOf(error)),
          );
        });
      }
      return;
    }
    const open = store.open;
    if (store.view.kind === "manager" && latest.backend === "running" && !open) {
      store.view = { kind: "list" };
    }
    if (store.view.kind === "settings") {
      // Drawn once per visit: the form keeps what is being typed, and the
      // network panel is refreshed on its own (askNetwork).
      if (!content.querySelector("[data-testid=network-form]")) void openSettings();
      return;
    }
    if (store.view.kind === "alerts") {
      renderAlertsPage(content, latest, alertFilter, nowMs, {
        ...alertActions(ctx),
        back: () => go({ kind: "list" }),
        filter: (next) => {
          alertFilter = next;
          show();
        },
      });
      return;
    }
    if (open) {
      renderManager(content, ctx, open, {
        back: () => go({ kind: "list" }),
        rename: () => askRename(open),
        unpair: () => askUnpair(open),
      });
    } else {
      renderManagers(content, latest, now(), {
        open: (m) => go({ kind: "manager", key: m.key }),
        rename: askRename,
        unpair: askUnpair,
      });
    }
  };

  const openSettings = async (): Promise<void> => {
    let settings;
    try {
      settings = await backend.settings();
    } catch (error) {
      ctx.say(messageOf(error));
      go({ kind: "list" });
      return;
    }
    if (store.view.kind !== "settings") return;
    const tried = async (work: Promise<unknown>): Promise<string | null> => {
      try {
        await work;
        return null;
      } catch (error) {
        return messageOf(error);
      }
    };
    renderSettings(content, settings, {
      back: () => go({ kind: "list" }),
      setKeepInTray: (on) => tried(backend.setKeepInTray(on)),
      setStartAtLogin: (on) => tried(backend.setStartAtLogin(on)),
      setNetwork: async (form) => {
        const problem = await tried(backend.setNetwork(form));
        if (problem === null) ctx.say("Saved; the Waku node restarted on the new settings.");
        void askNetwork();
        return problem;
      },
      rotateKey: () => void rotateKey(),
      addComputer: () => computerCard.add(),
      joinComputer: () => void computerCard.join(),
      cutOff: (who) => void cutOff(who),
    });
    void askNetwork();
    void askKey();
  };

  // This computer's key on the settings page, followed while it rotates.
  let keyTimer: ReturnType<typeof setTimeout> | undefined;
  const askKey = async (): Promise<void> => {
    clearTimeout(keyTimer);
    if (store.view.kind !== "settings") return;
    try {
      const view = await backend.keyStatus();
      showKey(content, view, null, now());
      if (view.rotation && !view.rotation.finished) keyTimer = setTimeout(() => void askKey(), 2000);
    } catch (error) {
      showKey(content, null, messageOf(error), now());
    }
  };
  const rotateKey = async (): Promise<void> => {
    const sure = await confirmAction(
      overlay,
      "Rotate this computer's key?",
      "A new key is made and every paired manager is moved to it; managers offline now are moved when they next connect. The old key stops working once all have moved, or after 14 days.",
      "Rotate",
    );
    if (!sure) return;
    try {
      showKey(content, await backend.rotateKey(), null, now());
      keyTimer = setTimeout(() => void askKey(), 2000);
    } catch (error) {
      ctx.say(messageOf(error));
    }
  };

  // Cutting off a lost computer, once the person is sure.
  const cutOff = async (who: string): Promise<void> => {
    const panel = content.querySelector<HTMLElement>("[data-testid=cut-off-result]");
    const submit = content.querySelector<HTMLButtonElement>("[data-testid=cut-off-submit]");
    if (!panel) return;
    const sure = await confirmAction(
      overlay,
      `Cut off ${who}?`,
      `Every manager that admitted ${who} through your computers unpairs it: at once if online, otherwise when it next connects. To use that computer again, add it again from this one.`,
      "Cut off",
    );
    if (!sure) return;
    if (submit) submit.disabled = true;
    panel.replaceChildren(h("p", { class: "muted" }, `Asking your managers to cut off ${who}…`));
    try {
      showCutOff(panel, await backend.cutOff(who), null);
    } catch (error) {
      showCutOff(panel, null, messageOf(error));
    } finally {
      if (submit) submit.disabled = false;
    }
  };

  // The app's own network: the chip always, the panel while the settings show.
  const askNetwork = async (): Promise<void> => {
    if (store.managers?.backend !== "running") {
      network.textContent = "Network…";
      network.dataset.level = "looking";
      showNetwork(content, null, "The network starts with NodePair.");
      return;
    }
    try {
      const view = await backend.networkStatus();
      const state = networkState(view);
      const peers = view.status.peers.length;
      network.textContent = state.level === "ok" ? `● ${peers} ${peers === 1 ? "peer" : "peers"}` : state.level === "none" ? "● No network" : "● Looking…";
      network.dataset.level = state.level;
      network.title = state.title;
      showNetwork(content, view, null);
    } catch (error) {
      showNetwork(content, null, messageOf(error));
    }
  };

  // While a manager's page is open and it is online, each capability it
  // offers asks what it needs, now and every few seconds; only what the
  // manager answers is shown.
  let refreshing: string | null = null;
  const refresh = async (key: string): Promise<void> => {
    if (refreshing === key) return;
    refreshing = key;
    while (store.showing(key)) {
      const m = store.manager(key);
      for (const c of CAPABILITIES) {
        if (m?.state === "online" && m.capabilities.includes(c.capability)) await c.refresh?.(ctx, key);
      }
      await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
    }
    leave(key);
    refreshing = null;
  };

  // Listen before asking, so a change in between is not missed.
  await card.watch();
  await computerCard.watch();
  for (const c of CAPABILITIES) await c.watch?.(ctx);
  await watchManagers((next) => {
    if (store.offer(next)) show();
  });
  // The tray's menu: pair, or a manager's page (the backend showed the window).
  await watchTray((action) => {
    if (action.action === "pair") void card.begin();
    else if (store.manager(action.key)) go({ kind: "manager", key: action.key });
  });
  store.offer(await backend.managers());
  show();
  if (store.view.kind === "manager") void refresh(store.view.key);
  setInterval(() => {
    if (overlay.hidden && store.managers?.backend === "running") show();
  }, RELABEL_MS);
  void askNetwork();
  setInterval(() => void askNetwork(), NETWORK_MS);
}

const root = document.getElementById("app");
if (root) void start(root);
