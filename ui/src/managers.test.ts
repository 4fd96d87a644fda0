// The managers list shows what the backend reports, and follows its events.

import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import { start } from "./main";
import type { ManagersView } from "./managers";
import { lastSeenLabel, latencyLabel, stateLabel } from "./node_state";

afterEach(() => clearMocks());

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

function mount(): HTMLElement {
  const root = document.createElement("main");
  document.body.replaceChildren(root);
  return root;
}

function backend(view: ManagersView): void {
  mockIPC(
    (cmd) => {
      if (cmd === "plugin:app|name") return "NodePair";
      if (cmd === "plugin:app|version") return "0.1.0";
      if (cmd === "managers") return view;
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
}

const validator: ManagersView["managers"][number] = {
  name: "validator-1",
  nodeId: "28acdd8b-e295-402e-8ff4-632a124971fb",
  fingerprint: "4f1c-9a02-77be-e310",
  state: "online",
  latencyMs: 8.73,
  lastSeen: NOW / 1000 - 5,
};

describe("managers list", () => {
  it("shows each manager with its state, latency and last seen", async () => {
    backend({
      backend: "running",
      error: null,
      managers: [validator, { ...validator, name: "archive", state: "offline", latencyMs: null, lastSeen: NOW / 1000 - 7200 }],
    });
    const root = mount();
    await start(root, () => NOW);
    const rows = [...root.querySelectorAll("[data-testid=manager]")];
    expect(rows.map((r) => r.querySelector(".name")?.textContent)).toEqual(["validator-1", "archive"]);
    expect(rows[0]?.querySelector(".badge")?.textContent).toBe("Online");
    expect(rows[0]?.querySelector(".badge")?.classList.contains("good")).toBe(true);
    expect(rows[0]?.querySelector(".latency")?.textContent).toBe("8.7 ms");
    expect(rows[0]?.querySelector(".seen")?.textContent).toBe("just now");
    expect(rows[1]?.querySelector(".badge")?.textContent).toBe("Offline");
    expect(rows[1]?.querySelector(".latency")?.textContent).toBe("–");
    expect(rows[1]?.querySelector(".seen")?.textContent).toBe("2 h ago");
  });

  it("follows the backend's events: a manager going offline shows at once", async () => {
    backend({ backend: "running", error: null, managers: [validator] });
    const root = mount();
    await start(root, () => NOW);
    expect(root.querySelector("[data-testid=manager]")?.getAttribute("data-state")).toBe("online");
    await emit("managers-changed", {
      backend: "running",
      error: null,
      managers: [{ ...validator, state: "offline", latencyMs: null }],
    } satisfies ManagersView);
    expect(root.querySelector("[data-testid=manager]")?.getAttribute("data-state")).toBe("offline");
    expect(root.querySelector(".badge")?.textContent).toBe("Offline");
  });

  it("says how to pair when there is nobody, and why when the backend failed", async () => {
    backend({ backend: "running", error: null, managers: [] });
    let root = mount();
    await start(root, () => NOW);
    expect(root.querySelector("[data-testid=no-managers]")?.textContent).toContain("nodepair pair");

    clearMocks();
    backend({ backend: "failed", error: "the vault needs a passphrase and there is none", managers: [] });
    root = mount();
    await start(root, () => NOW);
    const alert = root.querySelector(".managers-card [role=alert]");
    expect(alert?.textContent).toContain("the vault needs a passphrase");
    expect(root.querySelector("[data-testid=manager]")).toBeNull();
  });
});

describe("labels", () => {
  it("maps every state to a word and a tone, and shows unknown ones as they are", () => {
    expect(stateLabel("online")).toMatchObject({ label: "Online", tone: "good" });
    expect(stateLabel("connecting")).toMatchObject({ label: "Connecting", tone: "busy" });
    expect(stateLabel("offline")).toMatchObject({ label: "Offline", tone: "idle" });
    expect(stateLabel("revoked")).toMatchObject({ label: "Unpaired", tone: "bad" });
    expect(stateLabel("hibernating")).toMatchObject({ label: "hibernating", tone: "idle" });
  });

  it("says how long ago, and how fast", () => {
    expect(lastSeenLabel(null, NOW)).toBe("never");
    expect(lastSeenLabel(NOW / 1000 + 30, NOW)).toBe("just now");
    expect(lastSeenLabel(NOW / 1000 - 59, NOW)).toBe("just now");
    expect(lastSeenLabel(NOW / 1000 - 60, NOW)).toBe("1 min ago");
    expect(lastSeenLabel(NOW / 1000 - 86400, NOW)).toBe("1 day ago");
    expect(lastSeenLabel(NOW / 1000 - 3 * 86400, NOW)).toBe("3 days ago");
    expect(latencyLabel(0.42)).toBe("0.4 ms");
    expect(latencyLabel(123.6)).toBe("124 ms");
    expect(latencyLabel(null)).toBe("–");
  });
});
