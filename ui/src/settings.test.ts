// The settings page: the app's own network in words (with what to check when
// nothing is reachable), the network form checked before it is sent, and the
// tray and login toggles.

import { clearMocks } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { start } from "./main";
import { networkState } from "./network_state";
import { readForm } from "./settings_page";
import { type Calls, mockBackend, mount, networkView, running, settingsView, settle, validator } from "./test_support";

afterEach(() => clearMocks());

describe("the network in words", () => {
  it("is connected, still looking, or says what to check for its preset", () => {
    expect(networkState(networkView(3))).toEqual({ level: "ok", title: "Connected: 3 Waku peers, 3 service nodes", hints: [] });
    expect(networkState(networkView(0, 5_000)).level).toBe("looking");
    const none = networkState(networkView(0, 20_000));
    expect(none.title).toBe("No Waku peer reachable");
    expect(none.hints.join(" ")).toContain("online");
    expect(networkState(networkView(0, 30_000, "local")).hints[0]).toContain("nodepair-relay");
    expect(networkState(networkView(0, 30_000, "self-hosted")).hints[0]).toContain("your relays");
    const noService = networkView(2);
    noService.status.service_nodes = 0;
    noService.status.peers = noService.status.peers.map((p) => ({ ...p, service: false }));
    expect(networkState(noService)).toMatchObject({ level: "none", title: "Connected to 2 Waku peers, but none serves light push and filter" });
  });

  it("reads the form as the backend takes it, or says what is wrong", () => {
    expect(readForm("self-hosted", " /dns4/a/tcp/1 \n\n/dns4/b/tcp/2", "42", "")).toEqual({
      preset: "self-hosted",
      bootstrap: ["/dns4/a/tcp/1", "/dns4/b/tcp/2"],
      cluster: 42,
      shard: null,
    });
    expect(readForm("local", "", "-1", "")).toBe("The cluster is a whole number from 0 to 65535.");
    expect(readForm("local", "", "", "1024")).toBe("The shard is a whole number from 0 to 1023.");
  });
});

async function openSettings(answers: Parameters<typeof mockBackend>[1] = {}): Promise<{ root: HTMLElement; calls: Calls }> {
  const calls = mockBackend(running(validator), answers);
  const root = mount();
  await start(root, () => Date.UTC(2026, 10, 22, 12));
  (root.querySelector("[data-testid=settings-button]") as HTMLButtonElement).click();
  for (let i = 0; i < 5; i++) await settle();
  return { root, calls };
}

describe("this computer's key", () => {
  it("shows the key, rotates it only once asked, and follows the managers moving", async () => {
    const now = Date.UTC(2026, 10, 22, 12);
    const rotation = (moved: string[], waiting: string[]) => ({
      fingerprint: "3f2a-9c01-77de-0b45",
      rotation: { newFingerprint: "5be2-1d44-0a9e-91c0", moved, waiting, graceEndsAtMs: now + 14 * 86_400_000, finished: false },
    });
    let status = { fingerprint: "3f2a-9c01-77de-0b45", rotation: null } as unknown;
    const { root, calls } = await openSettings({
      key_status: () => status,
      rotate_key: () => rotation([], ["archive", "validator-1"]),
    });
    expect(root.querySelector("[data-testid=key-fingerprint]")?.textContent).toBe("3f2a-9c01-77de-0b45");
    const rotate = root.querySelector("[data-testid=rotate-key]") as HTMLButtonElement;
    rotate.click();
    await settle();
    (document.querySelector("[data-testid=confirm-no]") as HTMLButtonElement).click();
    await settle();
    expect(calls.some((c) => c.cmd === "rotate_key")).toBe(false);
    rotate.click();
    await settle();
    (document.querySelector("[data-testid=confirm-yes]") as HTMLButtonElement).click();
    for (let i = 0; i < 3; i++) await settle();
    expect(calls.some((c) => c.cmd === "rotate_key")).toBe(true);
    expect(root.querySelector("[data-testid=rotation-state]")?.textContent).toContain("0 of 2 managers moved. Not yet: archive, validator-1");
    expect(rotate.disabled).toBe(true);
    status = rotation(["validator-1"], ["archive"]);
    await new Promise((r) => setTimeout(r, 2100));
    for (let i = 0; i < 3; i++) await settle();
    const state = root.querySelector("[data-testid=rotation-state]")?.textContent ?? "";
    expect(state).toContain("1 of 2 managers moved. Not yet: archive (told when they next connect)");
    expect(state).toContain("in 14 days");
  });
});

describe("the settings page", () => {
  it("says no peer is reachable, what to check, and links to the network settings", async () => {
    const { root } = await openSettings({ network_status: () => networkView(0, 25_000) });
    const state = root.querySelector("[data-testid=network-state]");
    expect(state?.textContent).toBe("No Waku peer reachable");
    expect(state?.getAttribute("data-level")).toBe("none");
    expect(root.querySelector("[data-testid=network-hints]")?.getAttribute("role")).toBe("alert");
    expect(root.querySelector("[data-testid=network-settings-link]")?.getAttribute("href")).toBe("#network-settings");
    expect(root.querySelector("#network-settings")).not.toBeNull();
    expect(root.querySelector("[data-testid=network-chip]")?.textContent).toBe("● No network");
    expect(root.querySelector("[data-testid=network-summary]")?.textContent).toBe("The Waku Network · light node · cluster 1, shard 0");
  });

  it("lists the peers when connected", async () => {
    const { root } = await openSettings();
    expect(root.querySelector("[data-testid=network-state]")?.textContent).toBe("Connected: 2 Waku peers, 2 service nodes");
    expect(root.querySelectorAll("[data-testid=network-peers] li")).toHaveLength(2);
    expect(root.querySelector("[data-testid=network-chip]")?.textContent).toBe("● 2 peers");
  });

  it("checks the form before sending it, and sends what was typed", async () => {
    const { root, calls } = await openSettings({ set_network: () => settingsView });
    const preset = root.querySelector("[data-testid=network-preset]") as HTMLSelectElement;
    expect(preset.value).toBe("waku-network");
    const cluster = root.querySelector("[data-testid=network-cluster]") as HTMLInputElement;
    const form = root.querySelector("[data-testid=network-form]") as HTMLFormElement;
    cluster.value = "abc";
    form.requestSubmit();
    await settle();
    expect(root.querySelector("[data-testid=network-error]")?.textContent).toContain("cluster is a whole number");
    expect(calls.some((c) => c.cmd === "set_network")).toBe(false);

    preset.value = "self-hosted";
    (root.querySelector("[data-testid=network-bootstrap]") as HTMLTextAreaElement).value = "/dns4/relay.example.org/tcp/60000";
    cluster.value = "42";
    form.requestSubmit();
    for (let i = 0; i < 3; i++) await settle();
    expect(calls.find((c) => c.cmd === "set_network")?.args).toEqual({
      network: { preset: "self-hosted", bootstrap: ["/dns4/relay.example.org/tcp/60000"], cluster: 42, shard: null },
    });
    expect((root.querySelector("[data-testid=network-error]") as HTMLElement).hidden).toBe(true);
  });

  it("shows the backend's refusal of the network settings", async () => {
    const { root } = await openSettings({
      set_network: () => {
        throw { kind: "invalid", message: "The Waku Network is cluster 1; [network] cluster = 42 contradicts preset" };
      },
    });
    (root.querySelector("[data-testid=network-cluster]") as HTMLInputElement).value = "42";
    (root.querySelector("[data-testid=network-form]") as HTMLFormElement).requestSubmit();
    for (let i = 0; i < 3; i++) await settle();
    const error = root.querySelector("[data-testid=network-error]") as HTMLElement;
    expect(error.hidden).toBe(false);
    expect(error.textContent).toContain("cluster 1");
  });

  it("turns start at login on, and cannot keep running in a tray there is none of", async () => {
    const { root, calls } = await openSettings({
      app_settings: () => ({ ...settingsView, tray: false }),
      set_start_at_login: () => ({ ...settingsView, startAtLogin: true }),
    });
    const tray = root.querySelector("[data-testid=keep-in-tray]") as HTMLInputElement;
    expect(tray.disabled).toBe(true);
    expect(tray.checked).toBe(false);
    expect(root.textContent).toContain("closing the window quits NodePair");
    const login = root.querySelector("[data-testid=start-at-login]") as HTMLInputElement;
    login.click();
    for (let i = 0; i < 3; i++) await settle();
    expect(calls.find((c) => c.cmd === "set_start_at_login")?.args).toEqual({ on: true });
    expect(login.checked).toBe(true);
  });
});
