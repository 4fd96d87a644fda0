// The Ethereum node's readings: labels, and errors shown as errors.

import { clearMocks } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { EthStatusResponse_Serialize as EthStatus } from "./bindings";
import { beaconSyncLabel, errorLabel, executionSync } from "./eth";
import { start } from "./main";
import { NOW, mockBackend, mount, running, settle, validator } from "./test_support";

afterEach(() => clearMocks());

const status: EthStatus = {
  consensus: {
    endpoint: "http://127.0.0.1:5052/",
    version: { value: "Lighthouse/v0.1.5 (Linux x86_64)" },
    syncing: { value: { head_slot: 9_000_000, sync_distance: 0, is_syncing: false, is_optimistic: false, el_offline: false } },
    peers: { value: { connected: 56, connecting: 34, disconnected: 12, disconnecting: 5 } },
    health: { value: "ready" },
  },
  execution: {
    endpoint: "http://127.0.0.1:8545/",
    version: { error: { kind: "unreachable", message: "web3_clientVersion: cannot connect to http://127.0.0.1:8545/" } },
    syncing: { error: { kind: "timeout", message: "eth_syncing: http://127.0.0.1:8545/ did not answer in time" } },
    peers: { error: { kind: "not_configured", message: "[ethereum] execution_url is not set" } },
  },
  read_at_ms: NOW,
};

describe("ethereum labels", () => {
  it("says synced or how far behind, and how far along", () => {
    expect(beaconSyncLabel({ head_slot: 9_000_000, sync_distance: 0, is_syncing: false, is_optimistic: null, el_offline: null })).toBe(
      "Synced at slot 9,000,000",
    );
    expect(beaconSyncLabel({ head_slot: 880, sync_distance: 120, is_syncing: true, is_optimistic: null, el_offline: null })).toBe(
      "Syncing: 120 slots behind (head 880)",
    );
    expect(beaconSyncLabel({ head_slot: 1, sync_distance: 1, is_syncing: true, is_optimistic: true, el_offline: false })).toBe(
      "Syncing: 1 slot behind (head 1)",
    );
    expect(executionSync("synced")).toEqual({ percent: null, label: "Synced" });
    const p = executionSync({ syncing: { starting_block: 0, current_block: 0x1518, highest_block: 0x9567a3 } });
    expect(p.percent).toBeCloseTo(0.0551, 3);
    expect(p.label).toBe("Syncing: block 5,400 of 9,791,395 (0.1 %)");
    expect(errorLabel({ kind: "timeout", message: "" })).toBe("No answer in time");
  });
});

describe("node section", () => {
  it("shows what was read and, for the rest, why nothing was", async () => {
    mockBackend(running({ ...validator, capabilities: ["info", "ethereum"] }), { "eth.status": () => status });
    const root = mount();
    await start(root, () => NOW);
    (root.querySelector("[data-testid=open-manager]") as HTMLButtonElement).click();
    await settle();
    const text = (id: string) => root.querySelector(`[data-testid=${id}]`)?.textContent ?? "";
    expect(text("beacon-version")).toBe("Lighthouse/v0.1.5 (Linux x86_64)");
    expect(text("beacon-sync")).toBe("Synced at slot 9,000,000");
    expect(text("beacon-peers")).toBe("56 connected, 34 connecting");
    expect(text("beacon-health")).toBe("Ready");
    expect(text("execution-version")).toContain("Unreachable");
    expect(text("execution-sync")).toContain("No answer in time");
    expect(text("execution-peers")).toContain("Not configured");
    expect(text("execution-peers")).not.toMatch(/\b0\b/);
    // No host capability: the host section says so.
    expect(root.querySelector("[data-testid=host-disabled]")).not.toBeNull();
  });
});
