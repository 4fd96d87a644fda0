// One manager: who it is, how its session stands, and its host's health with
// the last minutes of CPU and memory — only what the manager sent.

import type { HostHealth, ManagerRow, SampleView } from "./api";
import { chartElement } from "./chart";
import { h } from "./dom";
import { bytesLabel, durationLabel, loadLabel, percentLabel, usageTone } from "./format";
import type { EthStatusResponse_Serialize as EthStatusResponse } from "./bindings";
import { beaconSyncLabel, executionSync, readingView } from "./eth";
import { HISTORY_MS } from "./history";
import { type LogsActions, type LogsState, logsSection } from "./logs";
import { type ServicesState, servicesSection } from "./services";
import { lastSeenLabel, latencyLabel, stateLabel } from "./node_state";

/** What the window knows of one manager's host. */
export interface HealthState {
  /** The latest answer, if any arrived. */
  health: HostHealth | null;
  /** Every sample received, merged (see history.ts). */
  samples: SampleView[];
  /** Why the latest question failed, if it did. */
  error: string | null;
  /** The rate the manager pushes at while the app follows it, ms; null when not following. */
  followMs?: number | null;
  /** How far apart the manager's kept samples are (host.health), ms. */
  historyIntervalMs?: number;
}

/** The rates the app may ask a manager to push its host's health at, ms. */
export const HOST_RATES_MS = [1000, 2000, 5000, 10_000, 30_000];

/** What the window knows of one manager's Ethereum node. */
export interface EthState {
  status: EthStatusResponse | null;
  error: string | null;
}

/** What the view's buttons do. */
export interface ManagerActions {
  back: () => void;
  rename: () => void;
  unpair: () => void;
  /** Ask for the host's health every `ms`. */
  hostRate?: (ms: number) => void;
  /** Start, stop or restart one of its services. */
  service?: (unit: string, action: "start" | "stop" | "restart") => void;
}

/** What else the window knows of it, by capability. */
export interface ManagerExtras {
  eth?: EthState | undefined;
  services?: ServicesState | undefined;
  logs?: LogsState | undefined;
  logActions?: LogsActions | undefined;
}

function button(label: string, onClick: () => void, attrs: Record<string, string> = {}): HTMLButtonElement {
  const b = h("button", { type: "button", ...attrs }, label);
  b.addEventListener("click", onClick);
  return b;
}

function fact(label: string, value: string, testid?: string): HTMLElement {
  return h("div", { class: "fact" }, h("dt", {}, label), h("dd", testid ? { "data-testid": testid } : {}, value));
}

function meter(part: number, whole: number, label: string): HTMLElement {
  const share = whole > 0 ? Math.min(100, (100 * part) / whole) : 0;
  return h(
    "div",
    { class: `meter ${usageTone(part, whole)}`, role: "meter", "aria-label": label, "aria-valuenow": String(Math.round(share)), "aria-valuemin": "0", "aria-valuemax": "100" },
    h("div", { class: "fill", style: `width: ${share.toFixed(1)}%` }),
  );
}

/** Renders the view of `manager` into `root`. */
export function renderManager(
  root: HTMLElement,
  manager: ManagerRow,
  health: HealthState,
  nowMs: number,
  actions: ManagerActions,
  extras: ManagerExtras = {},
): void {
  const eth = extras.eth ?? { status: null, error: null };
  const services = extras.services ?? { services: null, error: null, busy: null };
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
      h(
        "span",
        { class: "spacer" },
      ),
      button("Rename", actions.rename, { "data-testid": "rename-button" }),
      button("Unpair", actions.unpair, { class: "danger-outline", "data-testid": "unpair-button" }),
    ),
    h(
      "dl",
      { class: "facts" },
      manager.renamed ? fact("Calls itself", manager.ownName) : null,
      fact("Key", manager.fingerprint),
      fact("Node id", manager.nodeId),
      fact("Paired", new Date(manager.pairedAt * 1000).toLocaleDateString()),
      fact("Round trip", latencyLabel(manager.latencyMs), "latency"),
      fact("Last message", lastSeenLabel(manager.lastSeen, nowMs)),
    ),
  );
  root.replaceChildren(
    header,
    ...(manager.capabilities.includes("ethereum") ? [ethSection(manager, eth)] : []),
    ...(manager.capabilities.includes("services")
      ? [servicesSection(services, nowMs, (unit, action) => actions.service?.(unit, action))]
      : []),
    hostSection(manager, health, nowMs, actions.hostRate),
    ...(manager.capabilities.includes("logs") && extras.logs && extras.logActions
      ? [logsSection(extras.logs, extras.logActions)]
      : []),
  );
}

function ethSection(manager: ManagerRow, state: EthState): HTMLElement {
  const section = h("section", { class: "host eth", "aria-labelledby": "eth-title", "data-testid": "eth" });
  const title = h("h3", { id: "eth-title" }, "Ethereum node");
  const { status } = state;
  if (!status) {
    const message = state.error ?? (manager.state === "online" ? `Asking ${manager.name}…` : `${manager.name} is offline; its node's state shows here once it is back.`);
    section.append(title, h("p", { class: state.error ? "notice bad" : "muted", role: "status", "data-testid": "eth-status" }, message));
    return section;
  }
  const c = status.consensus;
  const x = status.execution;
  const num = (n: number) => n.toLocaleString("en-US");
  const consensus = h(
    "div",
    { class: "tile" },
    h("h4", {}, "Consensus client"),
    h(
      "dl",
      { class: "facts" },
      h("div", { class: "fact" }, h("dt", {}, "Version"), readingView(c.version, (v) => v, "beacon-version")),
      h("div", { class: "fact" }, h("dt", {}, "Sync"), readingView(c.syncing, (s) => beaconSyncLabel(s), "beacon-sync")),
      h(
        "div",
        { class: "fact" },
        h("dt", {}, "Peers"),
        readingView(c.peers, (p) => `${num(p.connected)} connected${p.connecting > 0 ? `, ${num(p.connecting)} connecting` : ""}`, "beacon-peers"),
      ),
      h(
        "div",
        { class: "fact" },
        h("dt", {}, "Health"),
        readingView(
          c.health,
          (hh) => h("span", { class: `badge ${hh === "ready" ? "good" : hh === "syncing" ? "busy" : "bad"}` }, hh === "ready" ? "Ready" : hh === "syncing" ? "Syncing" : "Not ready"),
          "beacon-health",
        ),
      ),
    ),
    c.endpoint ? h("p", { class: "muted small" }, c.endpoint) : null,
  );
  const execution = h(
    "div",
    { class: "tile" },
    h("h4", {}, "Execution client"),
    h(
      "dl",
      { class: "facts" },
      h("div", { class: "fact" }, h("dt", {}, "Version"), readingView(x.version, (v) => v, "execution-version")),
      h(
        "div",
        { class: "fact" },
        h("dt", {}, "Sync"),
        readingView(
          x.syncing,
          (s) => {
            const p = executionSync(s);
            if (p.percent === null) return p.label;
            return h("span", {}, p.label, meter(p.percent, 100, "execution sync"));
          },
          "execution-sync",
        ),
      ),
      h("div", { class: "fact" }, h("dt", {}, "Peers"), readingView(x.peers, (n) => num(n), "execution-peers")),
    ),
    x.endpoint ? h("p", { class: "muted small" }, x.endpoint) : null,
  );
  section.append(
    h("div", { class: "section-header" }, title),
    ...(state.error ? [h("p", { class: "notice bad", role: "alert" }, state.error)] : []),
    h("div", { class: "tiles" }, consensus, execution),
  );
  return section;
}

/** "every 2 s", "every 30 s". */
export function rateLabel(ms: number): string {
  return `every ${Math.round(ms / 1000)} s`;
}

function ratePicker(currentMs: number, choose: (ms: number) => void): HTMLElement {
  const rates = HOST_RATES_MS.includes(currentMs) ? HOST_RATES_MS : [...HOST_RATES_MS, currentMs].sort((a, b) => a - b);
  const select = h(
    "select",
    { "data-testid": "host-rate", "aria-label": "How often the host's health is sent" },
    ...rates.map((ms) => h("option", ms === currentMs ? { value: String(ms), selected: "" } : { value: String(ms) }, rateLabel(ms))),
  ) as HTMLSelectElement;
  select.addEventListener("change", () => choose(Number(select.value)));
  return h("label", { class: "rate" }, "Update ", select);
}

function hostSection(manager: ManagerRow, state: HealthState, nowMs: number, chooseRate?: (ms: number) => void): HTMLElement {
  const section = h("section", { class: "host", "aria-labelledby": "host-title", "data-testid": "host" });
  const title = h("h3", { id: "host-title" }, "Host");
  if (!manager.capabilities.includes("host")) {
    section.append(
      title,
      h(
        "p",
        { class: "muted", "data-testid": "host-disabled" },
        `${manager.name} does not share its host's health: its operator has not enabled the “host” capability (see the operator guide).`,
      ),
    );
    return section;
  }
  const { health } = state;
  const online = manager.state === "online";
  if (!health) {
    const message = state.error
      ? state.error
      : online
        ? `Asking ${manager.name}…`
        : `${manager.name} is ${stateLabel(manager.state).label.toLowerCase()}; its host's health shows here once it is back.`;
    section.append(title, h("p", { class: state.error ? "notice bad" : "muted", role: "status", "data-testid": "host-status" }, message));
    return section;
  }
  const age = Math.max(0, nowMs - health.receivedAtMs);
  const following = state.followMs ?? null;
  const stale = !online || age > 3 * health.sampleIntervalMs + 2000;
  const freshness = stale
    ? `Last heard ${durationLabel(age / 1000)} ago${online ? "" : ` — ${manager.name} is offline`}.`
    : following
      ? `Live, sent ${rateLabel(following)}.`
      : "Refreshed every few seconds.";
  const latest = state.samples.at(-1);
  section.append(
    h(
      "div",
      { class: "section-header" },
      title,
      h("span", { class: stale ? "stale" : "muted", "data-testid": "host-freshness" }, freshness),
      ...(following && chooseRate && online ? [ratePicker(following, chooseRate)] : []),
    ),
    ...(state.error ? [h("p", { class: "notice bad", role: "alert" }, state.error)] : []),
    h(
      "div",
      { class: "tiles" },
      h(
        "div",
        { class: "tile" },
        h("h4", {}, "Machine"),
        h(
          "dl",
          { class: "facts" },
          fact("Host name", health.hostname, "hostname"),
          fact("System", health.os),
          ...(health.kernel ? [fact("Kernel", health.kernel)] : []),
          fact("Up", durationLabel(health.uptimeS)),
        ),
      ),
      h(
        "div",
        { class: "tile" },
        h("h4", {}, "CPU"),
        h("p", { class: "big", "data-testid": "cpu-now" }, latest ? `${Math.round(latest.cpuPercent)} %` : "–"),
        h("dl", { class: "facts" }, fact("CPUs", String(health.cpus)), fact("Load", loadLabel(health.load))),
        health.cpuPerCore.length > 0
          ? h(
              "div",
              { class: "cores", "aria-label": "use per CPU", "data-testid": "cores" },
              ...health.cpuPerCore.map((c, i) =>
                h("span", { class: "core", title: `CPU ${i}: ${Math.round(c)} %` }, h("span", { class: "core-fill", style: `height: ${Math.min(100, Math.max(0, c)).toFixed(0)}%` })),
              ),
            )
          : null,
      ),
      h(
        "div",
        { class: "tile" },
        h("h4", {}, "Memory"),
        h("p", { class: "big", "data-testid": "memory-now" }, percentLabel(health.memoryUsed, health.memoryTotal)),
        meter(health.memoryUsed, health.memoryTotal, "memory in use"),
        h("p", { class: "muted small" }, `${bytesLabel(health.memoryUsed)} of ${bytesLabel(health.memoryTotal)}`),
        health.swapTotal > 0
          ? h("p", { class: "muted small" }, `Swap ${bytesLabel(health.swapUsed)} of ${bytesLabel(health.swapTotal)}`)
          : null,
      ),
    ),
    ...(health.networks.length > 0
      ? [
          h(
            "div",
            { class: "tile network" },
            h("h4", {}, "Network"),
            h(
              "ul",
              { class: "net-list" },
              ...health.networks.map((n) =>
                h(
                  "li",
                  { "data-testid": "network" },
                  h("span", { class: "mount" }, n.name),
                  h("span", {}, `↓ ${bytesLabel(n.rxPerS)}/s`),
                  h("span", {}, `↑ ${bytesLabel(n.txPerS)}/s`),
                ),
              ),
            ),
          ),
        ]
      : []),
    charts(state.samples, health, nowMs, state.historyIntervalMs ?? 0),
    disks(health),
  );
  return section;
}

function charts(samples: SampleView[], health: HostHealth, nowMs: number, historyIntervalMs: number): HTMLElement {
  // The span is what the manager has sent, between 2 and 15 minutes, so a
  // fresh view's few minutes fill the chart instead of a sliver.
  const first = samples[0]?.atMs ?? nowMs;
  const endMs = Math.max(nowMs, samples.at(-1)?.atMs ?? 0);
  const frame = { width: 600, height: 120, endMs, spanMs: Math.min(HISTORY_MS, Math.max(2 * 60_000, endMs - first)) };
  // Kept samples and pushed ones may be taken at different rates: a gap is
  // what is wider than either allows.
  const gap = 2.5 * Math.max(health.sampleIntervalMs, historyIntervalMs);
  const minutes = Math.round(frame.spanMs / 60_000);
  const caption = samples.length > 1 ? `last ${minutes} min` : "collecting…";
  const chart = (title: string, points: { t: number; v: number }[], max: number, top: string) =>
    h(
      "figure",
      { class: "chart-box" },
      h("figcaption", {}, h("span", {}, title), h("span", { class: "muted" }, caption)),
      h("div", { class: "chart-area" }, h("span", { class: "axis top" }, top), chartElement(points, { ...frame, max }, gap, `${title}, ${caption}`), h("span", { class: "axis bottom" }, "0")),
    );
  return h(
    "div",
    { class: "charts", "data-testid": "charts" },
    chart("CPU", samples.map((s) => ({ t: s.atMs, v: s.cpuPercent })), 100, "100 %"),
    chart("Memory", samples.map((s) => ({ t: s.atMs, v: s.memoryUsed })), Math.max(health.memoryTotal, 1), bytesLabel(health.memoryTotal)),
  );
}

function disks(health: HostHealth): HTMLElement {
  if (health.disks.length === 0) return h("p", { class: "muted" }, "No disks reported.");
  return h(
    "div",
    { class: "disks" },
    h("h4", {}, "Disks"),
    h(
      "ul",
      { class: "disk-list" },
      ...health.disks.map((d) => {
        const used = d.total - d.available;
        return h(
          "li",
          { class: "disk", "data-testid": "disk" },
          h("span", { class: "mount" }, d.mount),
          meter(used, d.total, `${d.mount} in use`),
          h("span", { class: "muted small" }, `${bytesLabel(d.available)} free of ${bytesLabel(d.total)}`),
        );
      }),
    ),
  );
}
