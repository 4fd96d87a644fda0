// Pairing from the window: the code and how to use it, live progress, and
// errors a person can act on.

import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { codeGroups, formatRemaining } from "./countdown";
import { start } from "./main";
import type { PairingPhase, PairingView } from "./api";

/** `waiting` moved on to `phase`, with its words. */
const at = (phase: PairingPhase): PairingView => ({ ...waiting, phase, step: STEP[phase] });

afterEach(() => clearMocks());

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);

/** The words the backend sends with each phase (peer/src/pairing_progress.rs, app side). */
const STEP: Record<PairingPhase, string> = {
  connecting: "connecting to the Waku network; the code can be typed on the server already",
  waiting: "waiting for the server to answer",
  answered: "the server answered; exchanging identities",
  compare: "compare the verification string with the server's screen",
  confirmed: "confirmed here; waiting for the server to confirm too",
  paired: "paired, and the encrypted session is up",
  failed: "pairing stopped",
  cancelled: "pairing cancelled",
  introducing: "the other computer confirmed too; waiting for it to introduce this one to its managers",
  introduced: "introduced",
};

const waiting: PairingView = {
  phase: "waiting",
  step: STEP.waiting,
  code: "7KQ2-M9XD-4RTA",
  qrSvg: '<svg xmlns="http://www.w3.org/2000/svg"/>',
  command: "nodepair-manager pair 7KQ2-M9XD-4RTA",
  expiresAtMs: NOW + 10 * 60_000,
  verification: null,
  manager: null,
  fingerprint: null,
  error: null,
};

function mount(calls: string[], pairStart: () => PairingView | Error = () => waiting): HTMLElement {
  mockIPC(
    (cmd) => {
      calls.push(cmd);
      if (cmd === "plugin:app|name") return "NodePair";
      if (cmd === "plugin:app|version") return "0.1.0";
      if (cmd === "managers") return { backend: "running", error: null, unlock: null, managers: [] };
      if (cmd === "pair_start") {
        const r = pairStart();
        if (r instanceof Error) throw r;
        return r;
      }
      if (cmd === "pair_cancel") return null;
      if (cmd === "pair_confirm") return null;
      throw new Error(`unexpected command ${cmd}`);
    },
    { shouldMockEvents: true },
  );
  const root = document.createElement("main");
  document.body.replaceChildren(root);
  return root;
}

async function clickPair(root: HTMLElement): Promise<void> {
  (root.querySelector("[data-testid=pair-button]") as HTMLButtonElement).click();
  await new Promise((r) => setTimeout(r, 0));
}

describe("pairing screen", () => {
  it("shows the code in groups, its QR code, the server command and the time left", async () => {
    const calls: string[] = [];
    const root = mount(calls);
    await start(root, () => NOW);
    await clickPair(root);
    expect(calls).toContain("pair_start");
    const code = root.querySelector("[data-testid=pairing-code]");
    expect([...(code?.querySelectorAll(".group") ?? [])].map((g) => g.textContent)).toEqual([
      "7KQ2",
      "M9XD",
      "4RTA",
    ]);
    expect(root.querySelector("img.qr")?.getAttribute("src")).toMatch(/^data:image\/svg\+xml;utf8,/);
    // The prompt form is what it suggests; the one-line form is offered
    // beside it, with what it costs.
    expect(root.querySelector("[data-testid=pairing-command]")?.textContent).toBe("nodepair-manager pair");
    expect(root.querySelector("[data-testid=pairing-oneline]")?.textContent).toBe(
      "nodepair-manager pair 7KQ2-M9XD-4RTA",
    );
    expect(root.querySelector(".oneline")?.textContent).toContain("shell's history");
    expect(root.querySelector("figcaption")?.textContent).toContain("phone");
    // One way to pair at a time: the top bar's button steps aside.
    expect((root.querySelector("[data-testid=pair-button]") as HTMLButtonElement).hidden).toBe(true);
    expect(root.querySelector("[data-testid=countdown]")?.textContent).toBe("The code expires in 10:00.");
    expect(root.querySelector("[data-testid=pairing-progress]")?.textContent).toContain("Waiting");
  });

  it("asks whether the server shows the same string, and answers with the person's choice", async () => {
    const calls: string[] = [];
    const args: unknown[] = [];
    mockIPC(
      (cmd, payload) => {
        calls.push(cmd);
        if (cmd === "pair_confirm") args.push(payload);
        if (cmd === "plugin:app|name") return "NodePair";
        if (cmd === "plugin:app|version") return "0.1.0";
        if (cmd === "managers") return { backend: "running", error: null, unlock: null, managers: [] };
        if (cmd === "pair_start") return waiting;
        return null;
      },
      { shouldMockEvents: true },
    );
    const root = document.createElement("main");
    document.body.replaceChildren(root);
    await start(root, () => NOW);
    await clickPair(root);
    await emit("pairing-view", { ...at("answered") });
    expect(root.querySelector("[data-testid=pairing-progress]")?.textContent).toContain("answered");
    const comparing = {
      ...at("compare"),
      manager: "validator-1",
      fingerprint: "3f2a9c01",
      verification: "590 699",
    };
    await emit("pairing-view", comparing);
    const ask = root.querySelector("[data-testid=compare]");
    expect(ask?.textContent).toContain("validator-1 answered (key 3f2a9c01). Does the server show");
    expect(root.querySelector("[data-testid=verification]")?.textContent).toBe("590 699");
    expect(root.querySelector("[data-testid=pairing-code]")).toBeNull();
    (root.querySelector("[data-testid=confirm-match]") as HTMLButtonElement).click();
    await new Promise((r) => setTimeout(r, 0));
    expect(args).toEqual([{ matches: true }]);
    await emit("pairing-view", { ...comparing, phase: "confirmed", step: STEP.confirmed });
    expect(root.querySelector("[data-testid=pairing-progress]")?.textContent).toContain("waiting for the server to confirm");
    expect(root.querySelector("[data-testid=confirm-match]")).toBeNull();
    await emit("pairing-view", { ...comparing, phase: "paired", step: STEP.paired });
    expect(root.textContent).toContain("Paired with validator-1.");
    expect(root.querySelector("[data-testid=verification]")?.textContent).toBe("590 699");
  });

  it("stops on \"Doesn't match\" and offers a new code", async () => {
    const calls: string[] = [];
    const args: unknown[] = [];
    mockIPC(
      (cmd, payload) => {
        calls.push(cmd);
        if (cmd === "pair_confirm") args.push(payload);
        if (cmd === "plugin:app|name") return "NodePair";
        if (cmd === "plugin:app|version") return "0.1.0";
        if (cmd === "managers") return { backend: "running", error: null, unlock: null, managers: [] };
        if (cmd === "pair_start") return waiting;
        return null;
      },
      { shouldMockEvents: true },
    );
    const root = document.createElement("main");
    document.body.replaceChildren(root);
    await start(root, () => NOW);
    await clickPair(root);
    await emit("pairing-view", { ...at("compare"), manager: "validator-1", fingerprint: "3f2a9c01", verification: "590 699" });
    (root.querySelector("[data-testid=confirm-mismatch]") as HTMLButtonElement).click();
    await new Promise((r) => setTimeout(r, 0));
    expect(args).toEqual([{ matches: false }]);
    await emit("pairing-view", {
      ...at("failed"),
      error: "the verification strings do not match: someone may be in the middle; pairing stopped, make a new code",
    });
    expect(root.querySelector("[data-testid=pairing-error]")?.textContent).toContain("do not match");
    expect([...root.querySelectorAll("button")].some((b) => b.textContent === "New code")).toBe(true);
  });

  it("says it is still connecting to the network, with the code ready to type", async () => {
    const calls: string[] = [];
    const root = mount(calls);
    await start(root, () => NOW);
    await clickPair(root);
    await emit("pairing-view", { ...at("connecting") });
    expect(root.querySelector("[data-testid=pairing-progress]")?.textContent).toContain(
      "Connecting to the Waku network",
    );
    // The prompt form is what it suggests; the one-line form is offered
    // beside it, with what it costs.
    expect(root.querySelector("[data-testid=pairing-command]")?.textContent).toBe("nodepair-manager pair");
    expect(root.querySelector("[data-testid=pairing-oneline]")?.textContent).toBe(
      "nodepair-manager pair 7KQ2-M9XD-4RTA",
    );
    expect(root.querySelector(".oneline")?.textContent).toContain("shell's history");
    expect(root.querySelector("figcaption")?.textContent).toContain("phone");
    // One way to pair at a time: the top bar's button steps aside.
    expect((root.querySelector("[data-testid=pair-button]") as HTMLButtonElement).hidden).toBe(true);
    expect(root.querySelector("[data-testid=countdown]")?.textContent).toBe("The code expires in 10:00.");
    await emit("pairing-view", waiting);
    expect(root.querySelector("[data-testid=pairing-progress]")?.textContent).toContain("Waiting");
  });

  it("says so when a pairing is taken back after its card was closed", async () => {
    const calls: string[] = [];
    const root = mount(calls);
    await start(root, () => NOW);
    await clickPair(root);
    const paired = { ...at("paired"), manager: "validator-1", verification: "590 699" };
    await emit("pairing-view", paired);
    [...root.querySelectorAll("button")].find((b) => b.textContent === "Done")?.click();
    await new Promise((r) => setTimeout(r, 0));
    expect((root.querySelector(".pairing-card") as HTMLElement).hidden).toBe(true);
    expect((root.querySelector("[data-testid=pair-button]") as HTMLButtonElement).hidden).toBe(false);
    await emit("pairing-view", {
      ...paired,
      phase: "failed",
      step: STEP.failed,
      error: "the pairing was taken back: someone else also answered this pairing code",
    });
    const toast = root.querySelector("[data-testid=toast]") as HTMLElement | null;
    expect(toast?.hidden).toBe(false);
    expect(toast?.textContent).toContain("taken back");
  });

  it("says what to do when the code expired or leaked, and offers a new code", async () => {
    const calls: string[] = [];
    const root = mount(calls);
    await start(root, () => NOW);
    await clickPair(root);
    await emit("pairing-view", {
      ...at("failed"),
      error: "the pairing code expired before the pairing completed; make a new code",
    });
    expect(root.querySelector("[data-testid=pairing-error]")?.textContent).toContain("make a new code");
    const again = [...root.querySelectorAll("button")].find((b) => b.textContent === "New code");
    again?.click();
    await new Promise((r) => setTimeout(r, 0));
    expect(calls.filter((c) => c === "pair_start")).toHaveLength(2);
  });

  it("cancels, and shows why it could not start", async () => {
    const calls: string[] = [];
    let root = mount(calls);
    await start(root, () => NOW);
    await clickPair(root);
    [...root.querySelectorAll("button")].find((b) => b.textContent === "Cancel")?.click();
    await new Promise((r) => setTimeout(r, 0));
    expect(calls).toContain("pair_cancel");

    clearMocks();
    root = mount([], () => new Error("NodePair is still starting; try again in a moment"));
    await start(root, () => NOW);
    await clickPair(root);
    expect(root.querySelector(".pairing-card [role=alert]")?.textContent).toContain("still starting");
  });
});

describe("countdown", () => {
  it("counts minutes and seconds down to expired", () => {
    expect(formatRemaining(NOW + 600_000, NOW)).toBe("10:00");
    expect(formatRemaining(NOW + 61_500, NOW)).toBe("1:02");
    expect(formatRemaining(NOW + 1_000, NOW)).toBe("0:01");
    expect(formatRemaining(NOW, NOW)).toBe("expired");
    expect(formatRemaining(NOW - 5_000, NOW)).toBe("expired");
    expect(codeGroups("5RZD-MQQB-4PPF-BR")).toEqual(["5RZD", "MQQB", "4PPF", "BR"]);
  });
});
