// The first screen shows what the backend says, and a clear error when the
// backend cannot be reached.

import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { start } from "./main";
import { type Calls, mockBackend, mount as mountFresh, running, settle, validator } from "./test_support";

afterEach(() => clearMocks());

function mount(): HTMLElement {
  const root = document.createElement("main");
  document.body.replaceChildren(root);
  return root;
}

describe("first screen", () => {
  it("shows the name and version the backend reports", async () => {
    mockIPC(
      (cmd) => {
        if (cmd === "plugin:app|name") return "NodePair";
        if (cmd === "plugin:app|version") return "1.2.3";
        if (cmd === "managers") return { backend: "starting", error: null, unlock: null, managers: [] };
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const root = mount();
    await start(root);
    expect(root.querySelector("h1")?.textContent).toBe("NodePair");
    expect(root.querySelector("[data-testid=version]")?.textContent).toBe("Version 1.2.3");
    expect(root.querySelector("[role=alert]")).toBeNull();
  });

  it("says the backend is unreachable instead of showing made-up values", async () => {
    mockIPC(() => {
      throw new Error("ipc channel closed");
    });
    const root = mount();
    await start(root);
    const alert = root.querySelector("[role=alert]");
    expect(alert?.querySelector("h1")?.textContent).toBe("NodePair could not start");
    expect(alert?.textContent).toContain("ipc channel closed");
    expect(root.querySelector("[data-testid=version]")).toBeNull();
  });
});

describe("vault passphrase dialog", () => {
  it("asks twice for a new vault, refuses a mismatch itself, then unlocks and lists the managers", async () => {
    const calls: Calls = [];
    mockBackend(
      { backend: "locked", error: null, unlock: { creating: true, why: "The OS keyring cannot be used here (no Secret Service).", error: null }, managers: [], alerting: false, seq: 1 },
      { unlock: () => running(validator) },
      calls,
    );
    const root = mountFresh();
    await start(root);
    const form = root.querySelector("[data-testid=unlock-form]") as HTMLFormElement;
    expect(form.textContent).toContain("no Secret Service");
    expect(document.activeElement).toBe(root.querySelector("[data-testid=passphrase]"));
    const type = (id: string, value: string) => ((root.querySelector(`[data-testid=${id}]`) as HTMLInputElement).value = value);
    type("passphrase", "correct horse");
    type("passphrase-again", "correct horsE");
    (root.querySelector("[data-testid=unlock-submit]") as HTMLButtonElement).click();
    expect(root.querySelector("[data-testid=unlock-error]")?.textContent).toContain("differ");
    expect(calls.some((c) => c.cmd === "unlock")).toBe(false);
    type("passphrase-again", "correct horse");
    (root.querySelector("[data-testid=unlock-submit]") as HTMLButtonElement).click();
    await settle();
    expect(calls.filter((c) => c.cmd === "unlock").map((c) => c.args)).toEqual([{ passphrase: "correct horse" }]);
    expect(root.querySelector("[data-testid=manager] .name")?.textContent).toBe("validator-1");
  });

  it("shows the backend's word on a wrong passphrase", async () => {
    mockBackend({
      backend: "locked",
      error: null,
      unlock: { creating: false, why: "NodePair keeps its keys in an encrypted file.", error: "That passphrase does not open the vault. Try again." },
      managers: [],
      alerting: false,
      seq: 1,
    });
    const root = mountFresh();
    await start(root);
    expect(root.querySelector("[data-testid=passphrase-again]")).toBeNull();
    expect(root.querySelector("[data-testid=unlock-error]")?.textContent).toBe("That passphrase does not open the vault. Try again.");
  });
});
