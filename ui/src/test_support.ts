// Shared by the UI tests: a mocked backend answering like the real one.

import { mockIPC } from "@tauri-apps/api/mocks";
import type { HostHealth, ManagerRow, ManagersView, NetworkView, PairingView, SettingsView } from "./api";

export const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

export const KEY = "4f1c9a0277bee310".padEnd(64, "0");

export const validator: ManagerRow = {
  key: KEY,
  name: "validator-1",
  ownName: "validator-1",
  renamed: false,
  nodeId: "28acdd8b-e295-402e-8ff4-632a124971fb",
  fingerprint: "4f1c-9a02-77be-e310",
  state: "online",
  latencyMs: 8.73,
  lastSeen: NOW / 1000 - 5,
  pairedAt: NOW / 1000 - 86400,
  capabilities: ["info", "host"],
  alerts: [],
  resolved: [],
  health: null,
  validators: null,
};

export function running(...managers: ManagerRow[]): ManagersView {
  return { backend: "running", error: null, unlock: null, managers, alerting: false, seq: 1 };
}

export const GiB = 1024 ** 3;

export const health: HostHealth = {
  hostname: "validator-1.lan",
  os: "Linux 12 Debian GNU/Linux 12",
  kernel: "6.1.0-13-amd64",
  cpu_per_core: [5, 15, 25, 35, 45, 55, 65, 75],
  networks: [{ name: "eth0", rx_per_s: 1_200_000, tx_per_s: 340_000, rx_total: 9 * GiB, tx_total: 3 * GiB }],
  uptime_s: 3 * 86400 + 4 * 3600,
  cpus: 8,
  load: [0.52, 0.61, 0.7],
  memory_total: 32 * GiB,
  memory_used: 12 * GiB,
  swap_total: 0,
  swap_used: 0,
  disks: [{ mount: "/", total: 2048 * GiB, available: 512 * GiB }],
  sample_interval_ms: 5000,
  samples: [0, 1, 2, 3].map((i) => ({ at_ms: NOW - (3 - i) * 5000, cpu_percent: 10 + i * 10, memory_used: 12 * GiB })),
};

/** The app's own network: `peers` connected (all service nodes), running for `runningForMs`. */
export function networkView(peers: number, runningForMs = 60_000, preset: "waku-network" | "self-hosted" | "local" = "waku-network"): NetworkView {
  return {
    runningForMs,
    status: {
      settings: { preset, mode: "light", cluster: preset === "waku-network" ? 1 : 0, shard: 0, bootstrap: [], enrtree: [] },
      error: null,
      peer_id: "16Uiu2HAmExample",
      peers: Array.from({ length: peers }, (_, i) => ({ peer_id: `16Uiu2HAmPeer${i}`, address: `/ip4/203.0.113.${i + 1}/tcp/30303`, service: true, agent: "nwaku" })),
      service_nodes: peers,
      reachable: peers > 0,
      cut_since: null,
      last_message: null,
    },
  };
}

export const settingsView: SettingsView = {
  settingsFile: "/home/someone/.config/nodepair/app.toml",
  tray: true,
  keepRunningInTray: true,
  startAtLogin: false,
  network: { preset: "waku-network", bootstrap: [], cluster: null, shard: null },
};

/** Every call the UI made: command and arguments. */
export type Calls = { cmd: string; args: Record<string, unknown> }[];

/**
 * Mocks the backend: `answers` overrides what a command returns (or
 * throws). A manager method (`ask_manager`) is answered and recorded under
 * its own name (`"eth.status"`), its arguments the key and the request.
 */
export function mockBackend(
  view: ManagersView,
  answers: Record<string, (args: Record<string, unknown>) => unknown> = {},
  calls: Calls = [],
): Calls {
  mockIPC(
    (cmd, args) => {
      let a = (args ?? {}) as Record<string, unknown>;
      if (cmd === "ask_manager") {
        const { key, method, request } = a as { key: string; method: string; request: Record<string, unknown> };
        cmd = method;
        a = { key, ...request };
      }
      calls.push({ cmd, args: a });
      const answer = answers[cmd];
      if (answer) return answer(a);
      if (cmd === "plugin:app|name") return "NodePair";
      if (cmd === "plugin:app|version") return "0.1.0";
      if (cmd === "managers") return view;
      if (cmd === "network_status") return networkView(2);
      if (cmd === "app_settings") return settingsView;
      if (cmd === "key_status") return { fingerprint: "3f2a-9c01-77de-0b45", rotation: null };
      // A manager follows at the rate asked (the tests' rates are in bounds).
      if (cmd === "host.follow") return { stream: "host", interval_ms: a.interval_ms };
      if (cmd === "host.unfollow") return {};
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
  return calls;
}

export function mount(): HTMLElement {
  const root = document.createElement("main");
  document.body.replaceChildren(root);
  localStorage.clear();
  return root;
}

/** Lets promises and zero-delay timers run. */
export function settle(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}

export type { PairingView };
