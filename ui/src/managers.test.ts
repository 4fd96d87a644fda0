// The managers list shows what the backend reports, follows its events, and
// renames and unpairs through the backend only after the person confirms.

import { clearMocks } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import { start } from "./main";
import { summary } from "./managers";
import { lastSeenLabel, latencyLabel, stateLabel } from "./node_state";
import { type Calls, NOW, KEY, mockBackend, mount, running, settle, validator } from "./test_support";

afterEach(() => clearMocks());

describe("managers list", () => {
  it("shows each manager with its state, latency and last seen", async () => {
    mockBackend(
      running(validator, { ...validator, key: "ab".repeat(32), name: "archive", state: "offline", latencyMs: null, lastSeen: NOW / 1000 - 7200 }),
    );
    const root = mount();
    await start(root, () => NOW);
    const rows = [...root.querySelectorAll("[data-testid=manager]")];
    expect(rows.map((r) => r.querySelector(".name")?.textContent)).toEqual(["validator-1", "archive"]);
    expect(rows[0]?.querySelector(".badge")?.textContent).toBe("Online");
    expect(rows[0]?.querySelector(".badge")?.classList.contains("good")).toBe(true);
    expect(rows[0]?.querySelector(".latency .value")?.textContent).toBe("8.7 ms");
    expect(rows[0]?.querySelector(".seen .value")?.textContent).toBe("5 s ago");
    expect(rows[1]?.querySelector(".badge")?.textContent).toBe("Offline");
    expect(rows[1]?.querySelector(".latency .value")?.textContent).toBe("–");
    expect(rows[1]?.querySelector(".seen .value")?.textContent).toBe("2 h ago");
    // Headed columns, each cell labelled for when the row folds up.
    expect([...root.querySelectorAll("[data-testid=managers-head] span")].map((s) => s.textContent)).toEqual([
      "Manager",
      "State",
      "Round trip",
      "Last heard",
      "",
    ]);
    expect(rows[0]?.querySelector(".latency .cell-label")?.textContent).toBe("Round trip ");
    expect(root.querySelector(".count")?.textContent).toBe("2 managers · 1 online");
  });

  it("shows no round trip for a manager that is not online, and when an offline one was last heard", async () => {
    // The link keeps its last measurement after the session ends: not shown as current.
    mockBackend(running({ ...validator, state: "offline", latencyMs: 12, lastSeen: NOW / 1000 - 40 }));
    const root = mount();
    await start(root, () => NOW);
    const row = root.querySelector("[data-testid=manager]");
    expect(row?.querySelector(".latency .value")?.textContent).toBe("–");
    expect(row?.querySelector(".seen .value")?.textContent).toBe("40 s ago");
  });

  it("follows the backend's events: a manager going offline shows at once", async () => {
    mockBackend(running(validator));
    const root = mount();
    await start(root, () => NOW);
    expect(root.querySelector("[data-testid=manager]")?.getAttribute("data-state")).toBe("online");
    await emit("managers-view", running({ ...validator, state: "offline", latencyMs: null }));
    expect(root.querySelector("[data-testid=manager]")?.getAttribute("data-state")).toBe("offline");
    expect(root.querySelector(".badge")?.textContent).toBe("Offline");
  });

  it("keeps the newer states when the first answer arrives after later events", async () => {
    // The backend read its answer (view 1: still connecting), then the
    // manager came online and it sent view 2, which got here first: with
    // 100 managers coming online at once, the answer waits behind events.
    mockBackend(running(validator), {
      managers: async () => {
        await emit("managers-view", { ...running(validator), seq: 2 });
        return { ...running({ ...validator, state: "connecting", latencyMs: null }), seq: 1 };
      },
    });
    const root = mount();
    await start(root, () => NOW);
    await settle();
    expect(root.querySelector("[data-testid=manager]")?.getAttribute("data-state")).toBe("online");
    // A later view still replaces it.
    await emit("managers-view", { ...running({ ...validator, state: "offline", latencyMs: null }), seq: 3 });
    expect(root.querySelector("[data-testid=manager]")?.getAttribute("data-state")).toBe("offline");
  });

  it("shows a manager's worst open alert on its row, and none when there is none", async () => {
    const alert = (id: number, severity: "warning" | "critical", summary: string) => ({
      id,
      rule: "disk_free" as const,
      subject: "/var",
      severity,
      summary,
      first_seen_ms: NOW - 60_000,
      last_seen_ms: NOW,
      resolved_at_ms: null,
      readings: [],
      acknowledged: null,
      muted_until_ms: null,
      muted_by: null,
    });
    mockBackend(
      running(
        { ...validator, alerts: [alert(2, "critical", "geth.service is failed (failed)"), alert(1, "warning", "Disk /var has 4.1 GiB free (3.0 %)")] },
        { ...validator, key: "ab".repeat(32), name: "archive" },
      ),
    );
    let root = mount();
    await start(root, () => NOW);
    const rows = [...root.querySelectorAll("[data-testid=manager]")];
    const worst = rows[0]?.querySelector("[data-testid=worst-alert]");
    expect(worst?.textContent).toBe("Critical: geth.service is failed (failed) (and 1 more)");
    expect(worst?.getAttribute("data-severity")).toBe("critical");
    expect(rows[1]?.querySelector("[data-testid=worst-alert]")).toBeNull();

    // Muted for an hour, then past it: "muted" only while it is.
    clearMocks();
    const muted = (until: number) => running({ ...validator, alerts: [{ ...alert(3, "warning", "Load 9.00 on 4 CPUs"), muted_until_ms: until }] });
    mockBackend(muted(NOW + 3_600_000));
    root = mount();
    await start(root, () => NOW);
    expect(root.querySelector("[data-testid=worst-alert]")?.textContent).toBe("Warning: Load 9.00 on 4 CPUs · muted");
    clearMocks();
    mockBackend(muted(NOW - 1));
    root = mount();
    await start(root, () => NOW);
    expect(root.querySelector("[data-testid=worst-alert]")?.textContent).toBe("Warning: Load 9.00 on 4 CPUs");
  });

  it("shows a local name with the manager's own name beside it", async () => {
    mockBackend(running({ ...validator, name: "cellar box", renamed: true }));
    const root = mount();
    await start(root, () => NOW);
    expect(root.querySelector("[data-testid=manager] .name")?.textContent).toBe("cellar box");
    expect(root.querySelector("[data-testid=manager] .fingerprint")?.textContent).toBe("validator-1 · 4f1c-9a02-77be-e310");
  });

  it("says how to pair when there is nobody, and why when the backend failed", async () => {
    mockBackend(running());
    let root = mount();
    await start(root, () => NOW);
    expect(root.querySelector("[data-testid=no-managers]")?.textContent).toContain("type on the server");

    clearMocks();
    mockBackend({ backend: "failed", error: "cannot start the Waku node: address in use", unlock: null, managers: [], alerting: false, seq: 1 });
    root = mount();
    await start(root, () => NOW);
    const alert = root.querySelector(".content [role=alert]");
    expect(alert?.textContent).toContain("address in use");
    expect(root.querySelector("[data-testid=manager]")).toBeNull();
    expect((root.querySelector("[data-testid=pair-button]") as HTMLButtonElement).disabled).toBe(true);
  });
});

describe("rename and unpair", () => {
  it("renames through the backend and shows its refusal without closing", async () => {
    const calls: Calls = [];
    let refuse = true;
    mockBackend(
      running(validator),
      {
        rename_manager: (args) => {
          if (refuse) {
            refuse = false;
            throw "the display name holds control characters";
          }
          return { ...validator, name: String(args.name), renamed: true };
        },
      },
      calls,
    );
    const root = mount();
    await start(root, () => NOW);
    (root.querySelector("[data-testid=rename-button]") as HTMLButtonElement).click();
    const input = document.querySelector("[data-testid=rename-input]") as HTMLInputElement;
    expect(document.activeElement).toBe(input);
    expect(input.placeholder).toBe("validator-1");
    input.value = "  cellar box ";
    (document.querySelector("[data-testid=rename-save]") as HTMLButtonElement).click();
    await settle();
    expect(document.querySelector("[data-testid=rename-dialog] [role=alert]")?.textContent).toBe(
      "the display name holds control characters",
    );
    (document.querySelector("[data-testid=rename-save]") as HTMLButtonElement).click();
    await settle();
    expect(calls.filter((c) => c.cmd === "rename_manager").map((c) => c.args)).toEqual([
      { key: KEY, name: "cellar box" },
      { key: KEY, name: "cellar box" },
    ]);
    expect(document.querySelector("[data-testid=rename-dialog]")).toBeNull();
  });

  it("unpairs only after the confirmation, and Escape cancels", async () => {
    const calls: Calls = [];
    mockBackend(
      running(validator),
      { unpair_manager: () => ({ told: true, message: "Unpaired validator-1; it was told and forgot this app too." }) },
      calls,
    );
    const root = mount();
    await start(root, () => NOW);
    (root.querySelector("[data-testid=unpair-button]") as HTMLButtonElement).click();
    const dialog = document.querySelector("[data-testid=unpair-dialog]") as HTMLElement;
    expect(dialog.textContent).toContain("Unpair validator-1?");
    dialog.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(document.querySelector("[data-testid=unpair-dialog]")).toBeNull();
    expect(calls.some((c) => c.cmd === "unpair_manager")).toBe(false);

    (root.querySelector("[data-testid=unpair-button]") as HTMLButtonElement).click();
    (document.querySelector("[data-testid=confirm-unpair]") as HTMLButtonElement).click();
    await settle();
    expect(calls.filter((c) => c.cmd === "unpair_manager").map((c) => c.args)).toEqual([{ key: KEY }]);
    expect(root.querySelector("[data-testid=toast]")?.textContent).toContain("it was told");
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
    expect(lastSeenLabel(NOW / 1000 - 4, NOW)).toBe("just now");
    expect(lastSeenLabel(NOW / 1000 - 59, NOW)).toBe("59 s ago");
    expect(lastSeenLabel(NOW / 1000 - 60, NOW)).toBe("1 min ago");
    expect(lastSeenLabel(NOW / 1000 - 86400, NOW)).toBe("1 day ago");
    expect(lastSeenLabel(NOW / 1000 - 3 * 86400, NOW)).toBe("3 days ago");
    expect(latencyLabel(0.42)).toBe("0.4 ms");
    expect(latencyLabel(123.6)).toBe("124 ms");
    expect(latencyLabel(null)).toBe("–");
    expect(summary([validator])).toBe("1 manager · 1 online");
  });
});
