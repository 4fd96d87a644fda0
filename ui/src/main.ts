// Entry point: the top bar, the managers list or one manager's view, the
// pairing card and dialogs; kept up to date from the backend's events.

import { type HostHealth, type ManagerRow, type ManagersView, type PairingView, backend, messageOf, watchHost, watchLogs, watchManagers, watchPairing } from "./api";
import { loadAppInfo } from "./app_info";
import { confirmUnpair, rename } from "./dialogs";
import { h } from "./dom";
import { mergeSamples, newestSampleMs } from "./history";
import { renderStartupError, renderTopbar } from "./home";
import { type EthState, HOST_RATES_MS, type HealthState, renderManager } from "./manager_view";
import { type LogsState, appendLines, emptyLogs } from "./logs";
import type { ServicesState } from "./services";
import { renderManagers } from "./managers";
import { LIVE, renderPairing } from "./pairing";
import { renderUnlock } from "./unlock";
import { type View, loadView, saveView } from "./view_state";

/** How often the pairing countdown moves. */
const TICK_MS = 1000;
/** How often "last seen" and freshness labels are refreshed without any event. */
const RELABEL_MS = 5000;

/** The host rate the user chose last, ms (default every 2 s). */
function loadHostRate(): number {
  const saved = Number(localStorage.getItem("nodepair.hostRateMs"));
  return HOST_RATES_MS.includes(saved) ? saved : 2000;
}

function saveHostRate(ms: number): void {
  localStorage.setItem("nodepair.hostRateMs", String(ms));
}

/** Mounts the UI into `root`. */
export async function start(root: HTMLElement, now: () => number = Date.now): Promise<void> {
  let info;
  try {
    info = await loadAppInfo();
  } catch (error) {
    renderStartupError(root, error);
    return;
  }
  const { bar, pair } = renderTopbar(info, () => void begin());
  const toast = h("p", { class: "toast", role: "status", "data-testid": "toast", hidden: true });
  const pairingSection = h("section", { class: "card pairing-card", "aria-labelledby": "pairing-title", hidden: true });
  const content = h("section", { class: "card content", "aria-live": "polite" });
  const overlay = h("div", { class: "overlay", hidden: true });
  root.replaceChildren(bar, toast, pairingSection, content, overlay);

  let latest: ManagersView | null = null;
  let view: View = loadView();
  const health = new Map<string, HealthState>();
  const eth = new Map<string, EthState>();
  const services = new Map<string, ServicesState>();
  const logs = new Map<string, LogsState>();
  const logState = (key: string): LogsState => {
    let s = logs.get(key);
    if (!s) {
      s = emptyLogs();
      logs.set(key, s);
    }
    return s;
  };
  const logActions = (key: string) => ({
    choose: (source: string) => void chooseLog(key, source),
    follow: (on: boolean) => void followLog(key, on),
    search: (query: string) => {
      logState(key).query = query;
      show();
    },
  });
  const chooseLog = async (key: string, source: string): Promise<void> => {
    const s = logState(key);
    if (s.following && s.source) await backend.logUnfollow(key, s.source).catch(() => undefined);
    Object.assign(s, { source, lines: [], following: false, dropped: 0, leftOut: 0, error: null });
    try {
      const tail = await backend.logTail(key, source, 200);
      s.lines = tail.lines;
      s.leftOut = tail.left_out ?? 0;
    } catch (error) {
      s.error = messageOf(error);
    }
    show();
  };
  const followLog = async (key: string, on: boolean): Promise<void> => {
    const s = logState(key);
    if (!s.source) return;
    try {
      if (on) await backend.logFollow(key, s.source);
      else await backend.logUnfollow(key, s.source);
      s.following = on;
      s.error = null;
    } catch (error) {
      s.error = messageOf(error);
    }
    show();
  };
  // Host health: the kept history once, then pushes at the rate chosen.
  let hostRateMs = loadHostRate();
  const emptyHealth = (): HealthState => ({ health: null, samples: [], error: null, followMs: null });
  const followHost = async (key: string): Promise<void> => {
    const known = health.get(key) ?? emptyHealth();
    try {
      const started = await backend.hostFollow(key, hostRateMs);
      // An earlier failure stays shown until the first push replaces it.
      health.set(key, { ...(health.get(key) ?? known), followMs: started.interval_ms });
    } catch (error) {
      health.set(key, { ...(health.get(key) ?? known), followMs: null, error: messageOf(error) });
    }
    show();
  };
  // Off a manager's page: stop its pushes.
  const unfollowHost = async (key: string): Promise<void> => {
    const left = health.get(key);
    if (!left?.followMs) return;
    health.set(key, { ...left, followMs: null });
    await backend.hostUnfollow(key).catch(() => undefined);
  };
  const chooseHostRate = (key: string, ms: number): void => {
    hostRateMs = ms;
    saveHostRate(ms);
    void followHost(key);
  };
  const loadServices = async (key: string): Promise<void> => {
    const known = services.get(key) ?? { services: null, error: null, busy: null };
    try {
      services.set(key, { services: (await backend.services(key)).services, error: null, busy: known.busy });
    } catch (error) {
      services.set(key, { ...known, error: messageOf(error) });
    }
  };
  const serviceAction = async (key: string, unit: string, action: "start" | "stop" | "restart"): Promise<void> => {
    const known = services.get(key) ?? { services: null, error: null, busy: null };
    services.set(key, { ...known, busy: unit, error: null });
    show();
    try {
      const now = await backend.control(key, unit, action);
      const list = (known.services ?? []).map((s) => (s.unit === unit ? now : s));
      services.set(key, { services: list, error: null, busy: null });
      say(`${unit}: ${action} asked; it is now ${now.active_state}.`);
    } catch (error) {
      services.set(key, { ...known, error: messageOf(error), busy: null });
    }
    show();
  };

  // Pairing.
  let pairing: PairingView | null = null;
  /** The code of the last pairing that completed: it may still be taken back. */
  let lastPairedCode: string | null = null;
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
    if (pairing) renderPairing(pairingSection, pairing, now(), pairingActions);
  };
  const begin = async (): Promise<void> => {
    try {
      pairingError = null;
      pairing = await backend.pairStart();
    } catch (error) {
      pairing = null;
      pairingError = messageOf(error);
    }
    showPairing();
  };
  const pairingActions = {
    cancel: () => void backend.pairCancel(),
    confirm: (matches: boolean) => void backend.pairConfirm(matches),
    newCode: () => void begin(),
    close: () => {
      pairing = null;
      pairingError = null;
      showPairing();
    },
  };

  let toastTimer: ReturnType<typeof setTimeout> | undefined;
  const say = (message: string): void => {
    toast.textContent = message;
    toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (toast.hidden = true), 8000);
  };

  // Manager actions, shared by the list and the manager view.
  const go = (next: View): void => {
    if (view.kind === "manager" && (next.kind !== "manager" || next.key !== view.key)) void unfollowHost(view.key);
    view = next;
    saveView(view);
    show();
    if (view.kind === "manager") void poll(view.key);
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
        say(done.message);
        health.delete(m.key);
        if (view.kind === "manager" && view.key === m.key) go({ kind: "list" });
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
      again?.focus();
      if (again instanceof HTMLInputElement && caret?.start != null && caret.end != null) {
        again.setSelectionRange(caret.start, caret.end);
      }
    }
  };
  const render = (): void => {
    if (!latest) return;
    pair.disabled = latest.backend !== "running";
    if (latest.backend === "locked" && latest.unlock) {
      if (!content.querySelector("[data-testid=unlock-form]") || latest.unlock.error) {
        renderUnlock(content, latest.unlock, (passphrase) => {
          void backend.unlock(passphrase).then(
            (next) => {
              latest = next;
              show();
            },
            (error) => say(messageOf(error)),
          );
        });
      }
      return;
    }
    const open = view.kind === "manager" ? latest.managers.find((m) => m.key === (view as { key: string }).key) : undefined;
    if (view.kind === "manager" && latest.backend === "running" && !open) {
      view = { kind: "list" };
      saveView(view);
    }
    if (open) {
      renderManager(content, open, health.get(open.key) ?? emptyHealth(), now(), {
        back: () => go({ kind: "list" }),
        rename: () => askRename(open),
        unpair: () => askUnpair(open),
        service: (unit, action) => void serviceAction(open.key, unit, action),
        hostRate: (ms) => chooseHostRate(open.key, ms),
      }, { eth: eth.get(open.key), services: services.get(open.key), logs: logs.get(open.key), logActions: logActions(open.key) });
    } else {
      renderManagers(content, latest, now(), {
        pair: () => void begin(),
        open: (m) => go({ kind: "manager", key: m.key }),
        rename: askRename,
        unpair: askUnpair,
      });
    }
  };

  // Host health of the manager on screen, asked every few seconds while it
  // is online; only what it answers is shown.
  let polling: string | null = null;
  const poll = async (key: string): Promise<void> => {
    if (polling === key) return;
    polling = key;
    while (view.kind === "manager" && view.key === key) {
      const m = latest?.managers.find((x) => x.key === key);
      const wait = 5000;
      if (m && m.state === "online" && m.capabilities.includes("ethereum")) {
        const known = eth.get(key) ?? { status: null, error: null };
        try {
          eth.set(key, { status: await backend.eth(key), error: null });
        } catch (error) {
          eth.set(key, { ...known, error: messageOf(error) });
        }
        show();
      }
      if (m && m.state === "online" && m.capabilities.includes("logs") && !logState(key).sources) {
        try {
          logState(key).sources = (await backend.logSources(key)).sources;
        } catch (error) {
          logState(key).error = messageOf(error);
        }
        show();
      }
      if (m && m.state === "online" && m.capabilities.includes("services") && !services.get(key)?.busy) {
        await loadServices(key);
        show();
      }
      if (m && m.state === "online" && m.capabilities.includes("host")) {
        const known = health.get(key) ?? emptyHealth();
        // Pushes stop when the session drops; follow again when none came
        // for three of their intervals (or there never was a follow).
        const silentMs = now() - (known.health?.receivedAtMs ?? 0);
        if (!known.followMs || silentMs > 3 * known.followMs + 2000) {
          try {
            const answer: HostHealth = await backend.health(key, newestSampleMs(known.samples));
            health.set(key, {
              ...known,
              health: answer,
              samples: mergeSamples(known.samples, answer.samples),
              historyIntervalMs: answer.sampleIntervalMs,
              error: null,
            });
          } catch (error) {
            health.set(key, { ...known, error: messageOf(error) });
          }
          await followHost(key);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    await unfollowHost(key);
    polling = null;
  };

  // Listen before asking, so a change in between is not missed.
  await watchPairing((next) => {
    if (pairing && next.code === pairing.code) {
      pairing = next;
      showPairing();
    } else if (next.code === lastPairedCode && next.phase === "failed") {
      // Taken back after the card was closed (someone else answered the
      // same code within seconds): the manager leaves the list; say why.
      say(next.error ?? "The pairing was taken back.");
    }
    if (next.phase === "paired") lastPairedCode = next.code;
  });
  await watchHost((event) => {
    const known = health.get(event.key);
    if (!known?.followMs) return;
    health.set(event.key, { ...known, health: event.health, samples: mergeSamples(known.samples, event.health.samples), error: null });
    if (view.kind === "manager" && view.key === event.key) show();
  });
  await watchLogs((event) => {
    const s = logs.get(event.key);
    if (!s || !s.following || s.source !== event.lines.source) return;
    s.lines = appendLines(s.lines, event.lines.lines);
    s.dropped += event.lines.dropped_bytes;
    if (view.kind === "manager" && view.key === event.key) show();
  });
  await watchManagers((next) => {
    latest = next;
    show();
  });
  latest = await backend.managers();
  show();
  if (view.kind === "manager") void poll(view.key);
  setInterval(() => {
    if (pairing && LIVE.has(pairing.phase)) showPairing();
  }, TICK_MS);
  setInterval(() => {
    if (overlay.hidden && latest?.backend === "running") show();
  }, RELABEL_MS);
}

const root = document.getElementById("app");
if (root) void start(root);
