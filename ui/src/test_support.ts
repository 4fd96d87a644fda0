// Shared by the UI tests: a mocked backend answering like the real one.

import { mockIPC } from "@tauri-apps/api/mocks";
import type { HostHealth, ManagerRow, ManagersView, PairingView } from "./api";

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
};

export function running(...managers: ManagerRow[]): ManagersView {
  return { backend: "running", error: null, unlock: null, managers };
}

export const GiB = 1024 ** 3;

export const health: HostHealth = {
  hostname: "validator-1.lan",
  os: "Linux 12 Debian GNU/Linux 12",
  kernel: "6.1.0-13-amd64",
  cpuPerCore: [5, 15, 25, 35, 45, 55, 65, 75],
  networks: [{ name: "eth0", rxPerS: 1_200_000, txPerS: 340_000 }],
  uptimeS: 3 * 86400 + 4 * 3600,
  cpus: 8,
  load: [0.52, 0.61, 0.7],
  memoryTotal: 32 * GiB,
  memoryUsed: 12 * GiB,
  swapTotal: 0,
  swapUsed: 0,
  disks: [{ mount: "/", total: 2048 * GiB, available: 512 * GiB }],
  sampleIntervalMs: 5000,
  samples: [0, 1, 2, 3].map((i) => ({ atMs: NOW - (3 - i) * 5000, cpuPercent: 10 + i * 10, memoryUsed: 12 * GiB })),
  receivedAtMs: NOW,
};

/** Every call the UI made: command and arguments. */
export type Calls = { cmd: string; args: Record<string, unknown> }[];

/** Mocks the backend: `answers` overrides what a command returns (or throws). */
export function mockBackend(
  view: ManagersView,
  answers: Record<string, (args: Record<string, unknown>) => unknown> = {},
  calls: Calls = [],
): Calls {
  mockIPC(
    (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      const answer = answers[cmd];
      if (answer) return answer(a);
      if (cmd === "plugin:app|name") return "NodePair";
      if (cmd === "plugin:app|version") return "0.1.0";
      if (cmd === "managers") return view;
      // A manager follows at the rate asked (the tests' rates are in bounds).
      if (cmd === "manager_host_follow") return { stream: "host", interval_ms: a.intervalMs };
      if (cmd === "manager_host_unfollow") return null;
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
