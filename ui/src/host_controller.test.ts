// The host controller on its own: it follows once, and after the pushes go
// quiet it fills the charts from the kept history but leaves following to
// the backend (which asks again when the manager's session is back).

import { clearMocks } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { Context } from "./capability";
import { CAPABILITIES } from "./controllers";
import { host } from "./controllers/host";
import { Store } from "./store";
import { type Calls, KEY, NOW, health, mockBackend, running, validator } from "./test_support";

afterEach(() => clearMocks());

describe("host controller", () => {
  it("follows once, and after a silence asks for the history, not for the pushes", async () => {
    const calls: Calls = [];
    mockBackend(running(validator), { "host.health": () => health }, calls);
    let now = NOW;
    const store = new Store();
    const ctx: Context = { store, say: () => undefined, now: () => now, confirm: async () => true };
    const asked = (method: string) => calls.filter((c) => c.cmd === method).length;

    await host.refresh?.(ctx, KEY);
    expect([asked("host.health"), asked("host.follow")]).toEqual([1, 1]);

    // Pushes arriving: nothing to ask.
    now += 4000;
    store.set(KEY, host, { ...store.get(KEY, host), receivedAtMs: now });
    await host.refresh?.(ctx, KEY);
    expect([asked("host.health"), asked("host.follow")]).toEqual([1, 1]);

    // Quiet for longer than three of their intervals (2 s each): the gap is
    // filled from the samples after the newest one known.
    now += 10_000;
    await host.refresh?.(ctx, KEY);
    expect([asked("host.health"), asked("host.follow")]).toEqual([2, 1]);
    const newest = health.samples.at(-1)?.at_ms;
    expect(calls.filter((c) => c.cmd === "host.health").at(-1)?.args).toEqual({ key: KEY, samples_after_ms: newest });
  });

  it("every controller in controllers/ is found, in page order, without a list", () => {
    expect(CAPABILITIES.map((c) => c.capability)).toEqual(["alerts", "ethereum", "validators", "services", "host", "logs"]);
  });
});
