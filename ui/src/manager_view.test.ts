// One manager's view: opened from the list, remembered across restarts, and
// showing only the host health the manager sent.

import { clearMocks } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { afterEach, describe, expect, it } from "vitest";
import { start } from "./main";
import { type Calls, GiB, KEY, NOW, health, mockBackend, mount, running, settle, validator } from "./test_support";

afterEach(() => clearMocks());

async function openValidator(root: HTMLElement): Promise<void> {
  (root.querySelector("[data-testid=open-manager]") as HTMLButtonElement).click();
  await settle();
}

describe("manager view", () => {
  it("shows the host health the manager answered, with charts of its samples", async () => {
    const calls: Calls = [];
    mockBackend(running(validator), { "host.health": () => health }, calls);
    const root = mount();
    await start(root, () => NOW);
    await openValidator(root);
    expect(calls.find((c) => c.cmd === "host.health")?.args).toEqual({ key: KEY, samples_after_ms: 0 });
    expect(root.querySelector("[data-testid=manager-name]")?.textContent).toBe("validator-1");
    expect(root.querySelector("[data-testid=hostname]")?.textContent).toBe("validator-1.lan");
    expect(root.querySelector("[data-testid=cpu-now]")?.textContent).toBe("40 %");
    expect(root.querySelector("[data-testid=memory-now]")?.textContent).toBe("38 %");
    expect(root.querySelector("[data-testid=disk]")?.textContent).toContain("512 GiB free of 2.0 TiB");
    expect(root.querySelectorAll("[data-testid=cores] .core")).toHaveLength(8);
    expect(root.querySelector("[data-testid=network]")?.textContent).toBe("eth0↓ 1.1 MiB/s↑ 332 KiB/s");
    const lines = [...root.querySelectorAll(".chart .line")].map((l) => l.getAttribute("d") ?? "");
    expect(lines).toHaveLength(2);
    expect(lines[0]?.split(/[ML]/).filter(Boolean)).toHaveLength(4);
    expect(root.querySelector("[data-testid=host-freshness]")?.textContent).toContain("Live");
  });

  it("follows the host at the rate chosen, shows what it pushes, and stops when left", async () => {
    const calls: Calls = [];
    mockBackend(running(validator), { "host.health": () => health }, calls);
    const root = mount();
    await start(root, () => NOW);
    await openValidator(root);
    expect(calls.find((c) => c.cmd === "host.follow")?.args).toEqual({ key: KEY, interval_ms: 2000 });
    expect(root.querySelector("[data-testid=host-freshness]")?.textContent).toBe("Live, sent every 2 s.");

    // A push replaces what is shown and adds its sample to the charts.
    const pushed = { ...health, cpu_per_core: Array(8).fill(90), samples: [{ at_ms: NOW + 1000, cpu_percent: 90, memory_used: 12 * GiB }] };
    await emit("manager-event", { key: KEY, kind: "host", stream: "host", body: pushed });
    expect(root.querySelector("[data-testid=cpu-now]")?.textContent).toBe("90 %");
    const line = root.querySelector(".chart .line")?.getAttribute("d") ?? "";
    expect(line.split(/[ML]/).filter(Boolean)).toHaveLength(5);

    // A slower rate is asked of the manager and remembered.
    const rate = root.querySelector("[data-testid=host-rate]") as HTMLSelectElement;
    expect([...rate.options].map((o) => o.textContent)).toEqual(["every 1 s", "every 2 s", "every 5 s", "every 10 s", "every 30 s"]);
    rate.value = "10000";
    rate.dispatchEvent(new Event("change"));
    await settle();
    expect(calls.filter((c) => c.cmd === "host.follow").at(-1)?.args).toEqual({ key: KEY, interval_ms: 10_000 });
    expect(root.querySelector("[data-testid=host-freshness]")?.textContent).toBe("Live, sent every 10 s.");
    expect(localStorage.getItem("nodepair.hostRateMs")).toBe("10000");

    // Leaving the page stops the pushes; a late one changes nothing.
    (root.querySelector("[data-testid=back]") as HTMLButtonElement).click();
    await settle();
    expect(calls.some((c) => c.cmd === "host.unfollow")).toBe(true);
    await emit("manager-event", { key: KEY, kind: "host", stream: "host", body: { ...pushed, hostname: "late" } });
    await openValidator(root);
    expect(root.querySelector("[data-testid=hostname]")?.textContent).toBe("validator-1.lan");
  });

  it("says when the manager does not share host health, and asks nothing", async () => {
    const calls: Calls = [];
    mockBackend(running({ ...validator, capabilities: ["info"] }), {}, calls);
    const root = mount();
    await start(root, () => NOW);
    await openValidator(root);
    expect(root.querySelector("[data-testid=host-disabled]")?.textContent).toContain("“host” capability");
    expect(calls.some((c) => c.cmd === "host.health")).toBe(false);
  });

  it("stays on a manager's page when the manager moves to a new key", async () => {
    const calls: Calls = [];
    mockBackend(running(validator), { "host.health": () => health }, calls);
    const root = mount();
    await start(root, () => NOW);
    await openValidator(root);
    const moved = "f".repeat(64);
    await emit("managers-view", { ...running({ ...validator, key: moved, fingerprint: "ffff-ffff-ffff-ffff" }), seq: 5 });
    await settle();
    expect(root.querySelector("[data-testid=manager-name]")?.textContent).toBe("validator-1");
    expect(localStorage.getItem("nodepair.view")).toBe(`manager:${moved}`);
  });

  it("says what the manager lets this app use, and follows a grant changed while it is open", async () => {
    mockBackend(running({ ...validator, capabilities: ["info", "host", "logs"] }), { "host.health": () => health });
    const root = mount();
    await start(root, () => NOW);
    await openValidator(root);
    expect(root.querySelector("[data-testid=granted]")?.textContent).toBe("host, logs");
    await emit("managers-view", running({ ...validator, capabilities: ["info"] }));
    expect(root.querySelector("[data-testid=granted]")?.textContent).toBe("nothing but who it is");
    expect(root.querySelector("[data-testid=host-disabled]")).not.toBeNull();
  });

  it("keeps the last answer when the manager goes offline, and says how old it is", async () => {
    let now = NOW;
    mockBackend(running(validator), { "host.health": () => health });
    const root = mount();
    await start(root, () => now);
    await openValidator(root);
    now += 120_000;
    await emit("managers-view", running({ ...validator, state: "offline", latencyMs: null }));
    expect(root.querySelector("[data-testid=state]")?.textContent).toBe("Offline");
    expect(root.querySelector("[data-testid=hostname]")?.textContent).toBe("validator-1.lan");
    expect(root.querySelector("[data-testid=host-freshness]")?.textContent).toBe(
      "Last heard 2 min ago — validator-1 is offline.",
    );
  });

  it("shows a question's failure instead of numbers", async () => {
    mockBackend(running(validator), {
      "host.health": () => {
        throw "no answer from the counterparty within 30 s";
      },
    });
    const root = mount();
    await start(root, () => NOW);
    await openValidator(root);
    expect(root.querySelector("[data-testid=host-status]")?.textContent).toBe("no answer from the counterparty within 30 s");
    expect(root.querySelector("[data-testid=cpu-now]")).toBeNull();
  });

  it("opens again on the view it was closed on", async () => {
    mockBackend(running(validator), { "host.health": () => ({ ...health, memory_used: 16 * GiB }) });
    let root = mount();
    await start(root, () => NOW);
    await openValidator(root);
    const saved = localStorage.getItem("nodepair.view");
    expect(saved).toBe(`manager:${KEY}`);

    // A restart: same storage, new window.
    root = document.createElement("main");
    document.body.replaceChildren(root);
    await start(root, () => NOW);
    await settle();
    expect(root.querySelector("[data-testid=manager-name]")?.textContent).toBe("validator-1");
    (root.querySelector("[data-testid=back]") as HTMLButtonElement).click();
    expect(root.querySelector("[data-testid=manager]")).not.toBeNull();
    expect(localStorage.getItem("nodepair.view")).toBe("list");
  });
});
