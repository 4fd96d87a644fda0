// Alerts in the window: a manager's panel with acknowledge and mute, the
// Alerts view across managers with its filters, the top bar's count, and
// each managers row's node health in one line.

import { clearMocks } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import { type Alert, NO_FILTER, alertState, filterAlerts, listAlerts } from "./alerts";
import { start } from "./main";
import { type Calls, KEY, NOW, mockBackend, mount, running, settle, validator } from "./test_support";

afterEach(() => clearMocks());

function alert(id: number, severity: "warning" | "critical", summary: string, more: Partial<Alert> = {}): Alert {
  return {
    id,
    rule: "unit_down",
    subject: "geth.service",
    severity,
    summary,
    first_seen_ms: NOW - 10 * 60_000,
    last_seen_ms: NOW,
    resolved_at_ms: null,
    readings: [{ name: "active_state", value: "failed" }],
    acknowledged: null,
    muted_until_ms: null,
    muted_by: null,
    ...more,
  };
}

const ARCHIVE = "ab".repeat(32);
const geth = alert(4, "critical", "geth.service is failed (failed)");
const disk = alert(3, "warning", "Disk /var has 4.1 GiB free (3.0 %)", { rule: "disk_free", subject: "/var" });
const past = alert(1, "warning", "Load 9.00 on 4 CPUs", { rule: "load", subject: "", resolved_at_ms: NOW - 3_600_000 });
const fleet = () =>
  running(
    { ...validator, capabilities: ["info", "alerts"], alerts: [geth], resolved: [past] },
    { ...validator, key: ARCHIVE, name: "archive", capabilities: ["info", "alerts"], alerts: [disk] },
  );

describe("alerts", () => {
  it("are filtered by manager, severity and whether they are open", () => {
    const all = listAlerts(fleet().managers);
    expect(all.map((i) => i.alert.id)).toEqual([4, 3, 1]);
    expect(filterAlerts(all, NO_FILTER).map((i) => i.alert.id)).toEqual([4, 3]);
    expect(filterAlerts(all, { ...NO_FILTER, state: "resolved" }).map((i) => i.alert.id)).toEqual([1]);
    expect(filterAlerts(all, { ...NO_FILTER, state: "all", severity: "warning" }).map((i) => i.alert.id)).toEqual([3, 1]);
    expect(filterAlerts(all, { ...NO_FILTER, manager: ARCHIVE }).map((i) => i.alert.id)).toEqual([3]);
    expect(alertState({ ...geth, muted_until_ms: NOW + 1 }, NOW)).toBe("muted");
    expect(alertState({ ...geth, resolved_at_ms: NOW, muted_until_ms: NOW + 1 }, NOW)).toBe("resolved");
    expect(alertState({ ...geth, muted_until_ms: NOW }, NOW)).toBe("open");
    expect(alertState({ ...geth, acknowledged: { by: "laptop", at_ms: NOW } }, NOW)).toBe("acknowledged");
  });

  it("show on a manager's page, acknowledged and muted from there through the manager", async () => {
    const calls: Calls = [];
    mockBackend(fleet(), { "alerts.ack": () => ({}), "alerts.mute": () => ({}) }, calls);
    localStorage.setItem("nodepair.view", `manager:${KEY}`);
    const root = document.createElement("main");
    document.body.replaceChildren(root);
    await start(root, () => NOW);
    const panel = root.querySelector("[data-testid=alerts-panel]");
    expect(panel).not.toBeNull();
    const items = () => [...(root.querySelectorAll("[data-testid=alerts-panel] > ul [data-testid=alert]") ?? [])];
    expect(items().map((i) => i.getAttribute("data-id"))).toEqual(["4"]);
    expect(items()[0]?.querySelector("[data-testid=alert-summary]")?.textContent).toBe("geth.service is failed (failed)");
    expect(items()[0]?.querySelector("[data-testid=alert-when]")?.textContent).toBe("Service down · geth.service · since 10 min ago");
    expect(items()[0]?.querySelector(".readings")?.textContent).toBe("active_state failed");
    expect(panel?.querySelector("[data-testid=resolved-alerts] summary")?.textContent).toBe("Recently resolved (1)");
    // Unfolded, it stays so when the page is drawn again.
    const details = panel?.querySelector("[data-testid=resolved-alerts]") as HTMLDetailsElement;
    expect(details.open).toBe(false);
    details.open = true;
    details.dispatchEvent(new Event("toggle"));
    await emit("managers-view", fleet());
    expect((root.querySelector("[data-testid=resolved-alerts]") as HTMLDetailsElement).open).toBe(true);

    (items()[0]?.querySelector("[data-testid=acknowledge]") as HTMLButtonElement).click();
    await settle();
    expect(calls.filter((c) => c.cmd === "alerts.ack")).toEqual([{ cmd: "alerts.ack", args: { key: KEY, id: 4 } }]);
    expect(root.querySelector("[data-testid=toast]")?.textContent).toBe("validator-1: alert acknowledged.");

    const mute = items()[0]?.querySelector("[data-testid=mute]") as HTMLSelectElement;
    mute.value = "86400";
    mute.dispatchEvent(new Event("change"));
    await settle();
    expect(calls.filter((c) => c.cmd === "alerts.mute")).toEqual([{ cmd: "alerts.mute", args: { key: KEY, id: 4, for_secs: 86400 } }]);

    // The manager pushes the acknowledgement: every app shows who, and no button.
    await emit("managers-view", running({ ...fleet().managers[0]!, alerts: [{ ...geth, acknowledged: { by: "laptop", at_ms: NOW } }] }));
    const acked = root.querySelector("[data-testid=alerts-panel] [data-testid=alert]");
    expect(acked?.getAttribute("data-state")).toBe("acknowledged");
    expect(acked?.querySelector("[data-testid=alert-when]")?.textContent).toContain("acknowledged by laptop");
    expect(acked?.querySelector("[data-testid=acknowledge]")).toBeNull();
  });

  it("a refused acknowledgement says why", async () => {
    mockBackend(fleet(), {
      "alerts.ack": () => {
        throw { kind: "failed", message: "no alert 4 on this manager (it may have been dropped from the log)" };
      },
    });
    localStorage.setItem("nodepair.view", `manager:${KEY}`);
    const root = document.createElement("main");
    document.body.replaceChildren(root);
    await start(root, () => NOW);
    (root.querySelector("[data-testid=acknowledge]") as HTMLButtonElement).click();
    await settle();
    await settle();
    expect(root.querySelector("[data-testid=toast]")?.textContent).toBe(
      "validator-1: no alert 4 on this manager (it may have been dropped from the log)",
    );
  });

  it("of every manager show in the Alerts view, counted in the top bar, and filtered", async () => {
    mockBackend(fleet());
    const root = mount();
    await start(root, () => NOW);
    const count = root.querySelector("[data-testid=alerts-count]");
    expect(root.querySelector("[data-testid=alerts-button]")?.getAttribute("title")).toBe("2 open alerts");
    expect(count?.textContent).toBe("2");
    expect(count?.classList.contains("critical")).toBe(true);
    (root.querySelector("[data-testid=alerts-button]") as HTMLButtonElement).click();
    await settle();
    const summaries = () => [...root.querySelectorAll("[data-testid=alert-summary]")].map((s) => s.textContent);
    expect(summaries()).toEqual(["validator-1: geth.service is failed (failed)", "archive: Disk /var has 4.1 GiB free (3.0 %)"]);
    expect(root.querySelector("[data-testid=alerts-shown]")?.textContent).toBe("2 of 3");

    const pick = (testid: string, value: string) => {
      const select = root.querySelector(`[data-testid=${testid}]`) as HTMLSelectElement;
      select.value = value;
      select.dispatchEvent(new Event("change"));
    };
    pick("filter-state", "resolved");
    expect(summaries()).toEqual(["validator-1: Load 9.00 on 4 CPUs"]);
    expect(root.querySelector("[data-testid=alert]")?.querySelector("[data-testid=acknowledge]")).toBeNull();
    pick("filter-state", "all");
    pick("filter-manager", ARCHIVE);
    expect(summaries()).toEqual(["archive: Disk /var has 4.1 GiB free (3.0 %)"]);
    pick("filter-severity", "critical");
    expect(root.querySelector("[data-testid=no-alerts]")?.textContent).toBe("No alert matches these filters.");
    expect((root.querySelector("[data-testid=filter-severity]") as HTMLSelectElement).value).toBe("critical");

    // A muted alert is not counted (none open, no count), and says who muted it.
    pick("filter-manager", "all");
    pick("filter-severity", "all");
    await emit("managers-view", running({ ...validator, capabilities: ["alerts"], alerts: [{ ...geth, muted_until_ms: NOW + 60_000, muted_by: "desk" }] }));
    expect(root.querySelector("[data-testid=alerts-count]")).toBeNull();
    const muted = root.querySelector("[data-testid=alert]");
    expect(muted?.getAttribute("data-state")).toBe("muted");
    expect(muted?.querySelector("[data-testid=alert-when]")?.textContent).toMatch(/· muted until .* by desk$/);
    expect(muted?.querySelector("[data-testid=unmute]")).not.toBeNull();
  });

  it("a managers row reads its node's health in one line", async () => {
    mockBackend(
      running(
        { ...validator, health: { level: "synced", line: "Synced at slot 9,000,000" } },
        { ...validator, key: ARCHIVE, name: "archive", health: { level: "down", line: "Down: consensus client not answering" } },
        { ...validator, key: "cd".repeat(32), name: "quiet", health: null },
      ),
    );
    const root = mount();
    await start(root, () => NOW);
    const lines = [...root.querySelectorAll("[data-testid=manager]")].map((r) => r.querySelector("[data-testid=node-health]"));
    expect(lines.map((l) => l?.textContent ?? null)).toEqual(["Synced at slot 9,000,000", "Down: consensus client not answering", null]);
    expect(lines[1]?.getAttribute("data-level")).toBe("down");
  });
});
