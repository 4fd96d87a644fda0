// The host section of a manager's page: its machine, CPU, memory, network,
// the last minutes as charts, and its disks; only what the manager sent.

import type { HostHealth, ManagerRow, SampleView } from "./api";
import { byteScale, chartElement } from "./chart";
import { h } from "./dom";
import { bytesLabel, durationLabel, loadLabel, percentLabel } from "./format";
import { HISTORY_MS } from "./history";
import { stateLabel } from "./node_state";
import { fact, meter } from "./widgets";

/** What the window knows of one manager's host. */
export interface HealthState {
  /** The latest answer, if any arrived. */
  health: HostHealth | null;
  /** When it arrived, Unix ms (0: never). */
  receivedAtMs: number;
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

/** The host section, or why there is none. */
export function hostSection(manager: ManagerRow, state: HealthState, nowMs: number, chooseRate?: (ms: number) => void): HTMLElement {
  const section = h("section", { class: "host", "aria-labelledby": "host-title", "data-testid": "host" });
  const title = h("h3", { id: "host-title" }, "Host");
  if (!manager.capabilities.includes("host")) {
    section.append(
      title,
      h(
        "p",
        { class: "muted", "data-testid": "host-disabled" },
        `${manager.name} does not share its host's health with this app: its operator has not enabled the “host” capability, or has not granted it to this app (see the operator guide).`,
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
  const age = Math.max(0, nowMs - state.receivedAtMs);
  const following = state.followMs ?? null;
  const stale = !online || age > 3 * health.sample_interval_ms + 2000;
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
          fact("Up", durationLabel(health.uptime_s)),
        ),
      ),
      h(
        "div",
        { class: "tile" },
        h("h4", {}, "CPU"),
        h("p", { class: "big", "data-testid": "cpu-now" }, latest ? `${Math.round(latest.cpu_percent)} %` : "–"),
        h("dl", { class: "facts" }, fact("CPUs", String(health.cpus)), fact("Load", loadLabel(health.load))),
        health.cpu_per_core.length > 0
          ? h(
              "div",
              { class: "cores", "aria-label": "use per CPU", "data-testid": "cores" },
              ...health.cpu_per_core.map((c, i) =>
                h("span", { class: "core", title: `CPU ${i}: ${Math.round(c)} %` }, h("span", { class: "core-fill", style: `height: ${Math.min(100, Math.max(0, c)).toFixed(0)}%` })),
              ),
            )
          : null,
      ),
      h(
        "div",
        { class: "tile" },
        h("h4", {}, "Memory"),
        h("p", { class: "big", "data-testid": "memory-now" }, percentLabel(health.memory_used, health.memory_total)),
        meter(health.memory_used, health.memory_total, "memory in use"),
        h("p", { class: "muted small" }, `${bytesLabel(health.memory_used)} of ${bytesLabel(health.memory_total)}`),
        health.swap_total > 0
          ? h("p", { class: "muted small" }, `Swap ${bytesLabel(health.swap_used)} of ${bytesLabel(health.swap_total)}`)
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
                  h("span", {}, `↓ ${bytesLabel(n.rx_per_s)}/s`),
                  h("span", {}, `↑ ${bytesLabel(n.tx_per_s)}/s`),
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
  const first = samples[0]?.at_ms ?? nowMs;
  const endMs = Math.max(nowMs, samples.at(-1)?.at_ms ?? 0);
  const frame = { width: 600, height: 120, endMs, spanMs: Math.min(HISTORY_MS, Math.max(2 * 60_000, endMs - first)) };
  // Kept samples and pushed ones may be taken at different rates: a gap is
  // what is wider than either allows.
  const gap = 2.5 * Math.max(health.sample_interval_ms, historyIntervalMs);
  const minutes = Math.round(frame.spanMs / 60_000);
  const caption = samples.length > 1 ? `last ${minutes} min` : "collecting…";
  const chart = (title: string, points: { t: number; v: number }[], max: number, top: string) =>
    h(
      "figure",
      { class: "chart-box" },
      h("figcaption", {}, h("span", {}, title), h("span", { class: "muted" }, caption)),
      // The scale sits in a gutter of its own, clear of the line.
      h(
        "div",
        { class: "chart-area" },
        chartElement(points, { ...frame, max }, gap, `${title}, ${caption}`),
        h("span", { class: "axis top", "data-testid": "axis-top" }, top),
        h("span", { class: "axis bottom" }, "0"),
      ),
    );
  const memory = samples.map((s) => ({ t: s.at_ms, v: s.memory_used }));
  const memoryTop = byteScale(Math.max(health.memory_used, ...memory.map((p) => p.v)), health.memory_total);
  return h(
    "div",
    { class: "charts", "data-testid": "charts" },
    chart("CPU", samples.map((s) => ({ t: s.at_ms, v: s.cpu_percent })), 100, "100 %"),
    chart("Memory", memory, memoryTop, bytesLabel(memoryTop)),
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
