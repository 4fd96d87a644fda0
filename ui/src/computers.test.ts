// The person's other computers from the settings page: joining shows a code
// and what the new computer got; adding takes a code (a mistyped one is
// refused in place), asks to compare, and says what each manager did;
// cutting off asks first and says where it happened.

import { emit } from "@tauri-apps/api/event";
import { clearMocks } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { ComputerView, CutOffView } from "./api";
import { start } from "./main";
import { type Calls, mockBackend, mount, running, settle, validator } from "./test_support";

afterEach(() => clearMocks());

const NOW = Date.UTC(2026, 10, 22, 12);

const joining: ComputerView = {
  id: 7,
  joining: true,
  phase: "waiting",
  step: "waiting for the other computer to answer",
  code: "7KQ2-M9XD-4RTA",
  expiresAtMs: NOW + 10 * 60_000,
  verification: null,
  computer: null,
  fingerprint: null,
  managers: [],
  summary: null,
  error: null,
};

const adding: ComputerView = { ...joining, id: 8, joining: false, code: null, step: "waiting for the new computer to answer" };

async function openSettings(answers: Parameters<typeof mockBackend>[1] = {}): Promise<{ root: HTMLElement; calls: Calls }> {
  const calls = mockBackend(running(validator), answers);
  const root = mount();
  await start(root, () => NOW);
  (root.querySelector("[data-testid=settings-button]") as HTMLButtonElement).click();
  for (let i = 0; i < 5; i++) await settle();
  return { root, calls };
}

const card = (root: HTMLElement) => root.querySelector("[data-testid=computer-card]") as HTMLElement;

describe("joining from another computer", () => {
  it("shows the code and the command for the other computer, then what this one got", async () => {
    const { root } = await openSettings({ join_start: () => joining });
    expect(card(root).hidden).toBe(true);
    (root.querySelector("[data-testid=join-computer]") as HTMLButtonElement).click();
    for (let i = 0; i < 3; i++) await settle();
    expect(card(root).hidden).toBe(false);
    expect(root.querySelector("[data-testid=join-code]")?.getAttribute("aria-label")).toBe("Code 7KQ2-M9XD-4RTA");
    expect(root.querySelector("[data-testid=join-command]")?.textContent).toBe("nodepair add-computer");
    expect(root.querySelector("[data-testid=computer-countdown]")?.textContent).toBe("The code expires in 10:00.");

    // Another run's events are not this one's.
    await emit("computer-view", { ...joining, id: 3, phase: "failed", step: "adding the computer stopped", error: "someone else's" });
    expect(root.querySelector("[data-testid=computer-error]")).toBeNull();

    await emit("computer-view", {
      ...joining,
      phase: "introduced",
      step: "this computer was introduced to the managers below",
      verification: "590 699",
      computer: "laptop",
      managers: [{ name: "alpha", fingerprint: "ab12-cd34", outcome: "introduced", detail: "may use host, logs" }],
      summary: "laptop introduced this computer to 1 manager; it is connecting to them.",
    });
    expect(root.querySelector("[data-testid=join-code]")).toBeNull();
    const summary = root.querySelector("[data-testid=computer-summary]");
    expect(summary?.textContent).toContain("introduced this computer to 1 manager");
    expect(summary?.className).toContain("good");
    expect(root.querySelector("[data-testid=computer-managers] li[data-name=alpha]")?.textContent).toContain("may use host, logs");
    (root.querySelector("[data-testid=computer-close]") as HTMLButtonElement).click();
    expect(card(root).hidden).toBe(true);
  });

  it("may be closed while waiting for the managers, and a run the backend lost ends on Cancel", async () => {
    const { root } = await openSettings({
      join_start: () => joining,
      computer_cancel: () => {
        throw { kind: "not_found", message: "no computer is being added" };
      },
    });
    (root.querySelector("[data-testid=join-computer]") as HTMLButtonElement).click();
    for (let i = 0; i < 3; i++) await settle();
    (root.querySelector("[data-testid=computer-cancel]") as HTMLButtonElement).click();
    for (let i = 0; i < 3; i++) await settle();
    expect(root.querySelector("[data-testid=computer-progress]")?.textContent).toBe("Adding the computer was cancelled.");
    expect(root.querySelector("[data-testid=computer-cancel]")).toBeNull();

    (root.querySelector("[data-testid=join-computer]") as HTMLButtonElement).click();
    for (let i = 0; i < 3; i++) await settle();
    await emit("computer-view", { ...joining, phase: "introducing", step: "both confirmed; waiting for the other computer to introduce this one to its managers" });
    (root.querySelector("[data-testid=computer-close]") as HTMLButtonElement).click();
    expect(card(root).hidden).toBe(true);
  });

  it("says so plainly when no manager admitted it", async () => {
    const { root } = await openSettings({ join_start: () => joining });
    (root.querySelector("[data-testid=join-computer]") as HTMLButtonElement).click();
    for (let i = 0; i < 3; i++) await settle();
    await emit("computer-view", {
      ...joining,
      phase: "introduced",
      step: "this computer was introduced to the managers below",
      summary: "laptop introduced this computer, but no manager admitted it (their operators may not accept introductions; laptop shows which). Nothing was stored.",
    });
    const summary = root.querySelector("[data-testid=computer-summary]");
    expect(summary?.className).toContain("bad");
    expect(summary?.getAttribute("role")).toBe("alert");
  });
});

describe("adding a computer", () => {
  it("refuses a mistyped code in place, then compares and reports each manager", async () => {
    const args: unknown[] = [];
    const { root, calls } = await openSettings({
      add_computer_start: (a) => {
        if (String(a.code).includes("!")) throw { kind: "invalid", message: "that is not the code the new computer shows: '!' at position 12 is not a code symbol" };
        return adding;
      },
      computer_confirm: (a) => {
        args.push(a);
        return null;
      },
      computer_cancel: () => null,
    });
    (root.querySelector("[data-testid=add-computer]") as HTMLButtonElement).click();
    await settle();
    const input = root.querySelector("[data-testid=computer-code-input]") as HTMLInputElement;
    const form = root.querySelector("[data-testid=computer-code-form]") as HTMLFormElement;
    form.requestSubmit();
    await settle();
    expect(root.querySelector("[data-testid=computer-code-error]")?.textContent).toBe("Type the code the new computer shows.");
    expect(calls.some((c) => c.cmd === "add_computer_start")).toBe(false);
    input.value = "7KQ2-M9XD-4RT!";
    form.requestSubmit();
    for (let i = 0; i < 3; i++) await settle();
    const error = root.querySelector("[data-testid=computer-code-error]") as HTMLElement;
    expect(error.hidden).toBe(false);
    expect(error.textContent).toContain("not the code the new computer shows");
    expect(input.value).toBe("7KQ2-M9XD-4RT!");

    input.value = "7kq2 m9xd 4rta";
    form.requestSubmit();
    for (let i = 0; i < 3; i++) await settle();
    expect(calls.filter((c) => c.cmd === "add_computer_start").map((c) => c.args)).toEqual([{ code: "7KQ2-M9XD-4RT!" }, { code: "7kq2 m9xd 4rta" }]);
    // The code typed is not shown back.
    expect(root.querySelector("[data-testid=join-code]")).toBeNull();
    expect(root.querySelector("[data-testid=computer-progress]")?.textContent).toBe("Waiting for the new computer to answer.");

    const comparing = { ...adding, phase: "compare" as const, step: "compare the verification string with the new computer's screen", computer: "desktop", fingerprint: "5be2-1d44", verification: "590 699" };
    await emit("computer-view", comparing);
    expect(root.querySelector("[data-testid=computer-compare]")?.textContent).toContain("desktop answered (key 5be2-1d44). Does the new computer show");
    expect(root.querySelector("[data-testid=computer-verification]")?.textContent).toBe("590 699");
    (root.querySelector("[data-testid=computer-match]") as HTMLButtonElement).click();
    await settle();
    expect(args).toEqual([{ matches: true }]);

    await emit("computer-view", { ...comparing, phase: "introducing", step: "both confirmed; introducing the new computer to each manager" });
    // The managers are being asked: nothing to cancel or close half-way.
    expect(root.querySelector("[data-testid=computer-cancel]")).toBeNull();
    expect(root.querySelector("[data-testid=computer-close]")).toBeNull();

    await emit("computer-view", {
      ...comparing,
      phase: "introduced",
      step: "the new computer was introduced to the managers below",
      summary: "desktop now reaches 1 of your 3 managers.",
      managers: [
        { name: "alpha", fingerprint: "ab12", outcome: "introduced", detail: "may use host" },
        { name: "bravo", fingerprint: "cd34", outcome: "unreachable", detail: "not reached (offline); add the computer again once it is online" },
        { name: "charlie", fingerprint: "ef56", outcome: "refused", detail: "refused (403): this manager does not accept introductions" },
      ],
    });
    const rows = [...root.querySelectorAll("[data-testid=computer-managers] li")].map((li) => [li.getAttribute("data-name"), li.getAttribute("data-outcome"), li.querySelector(".badge")?.textContent]);
    expect(rows).toEqual([
      ["alpha", "introduced", "admitted"],
      ["bravo", "unreachable", "not reached"],
      ["charlie", "refused", "refused"],
    ]);
    expect(root.querySelector("[data-testid=computer-summary]")?.textContent).toBe("desktop now reaches 1 of your 3 managers.");
    expect(root.querySelector("[data-testid=computer-close]")?.textContent).toBe("Done");
  });

  it("cancels on the person's word while the code is out", async () => {
    const { root, calls } = await openSettings({ add_computer_start: () => adding, computer_cancel: () => null });
    (root.querySelector("[data-testid=add-computer]") as HTMLButtonElement).click();
    await settle();
    (root.querySelector("[data-testid=computer-code-input]") as HTMLInputElement).value = "7KQ2-M9XD-4RTA";
    (root.querySelector("[data-testid=computer-code-form]") as HTMLFormElement).requestSubmit();
    for (let i = 0; i < 3; i++) await settle();
    (root.querySelector("[data-testid=computer-cancel]") as HTMLButtonElement).click();
    await settle();
    expect(calls.some((c) => c.cmd === "computer_cancel")).toBe(true);
  });
});

describe("cutting off a lost computer", () => {
  const report: CutOffView = {
    cutOff: 1,
    pending: 1,
    summary: "desktop was cut off on 1 manager; 1 not reachable now will cut it off when they next connect.",
    managers: [
      { name: "alpha", fingerprint: "ab12", outcome: "cut_off", detail: "cut off desktop (5be2); its sessions there ended" },
      { name: "bravo", fingerprint: "cd34", outcome: "pending", detail: "not reached (offline); told when it next connects" },
    ],
  };

  it("asks first, then says where it was cut off and where it will be", async () => {
    const { root, calls } = await openSettings({ cut_off_computer: () => report });
    const who = root.querySelector("[data-testid=cut-off-who]") as HTMLInputElement;
    const form = root.querySelector("[data-testid=cut-off-form]") as HTMLFormElement;
    form.requestSubmit();
    await settle();
    expect(root.textContent).toContain("Name the lost computer");
    who.value = " desktop ";
    form.requestSubmit();
    await settle();
    (document.querySelector("[data-testid=confirm-no]") as HTMLButtonElement).click();
    for (let i = 0; i < 3; i++) await settle();
    expect(calls.some((c) => c.cmd === "cut_off_computer")).toBe(false);
    form.requestSubmit();
    await settle();
    expect(document.querySelector("[data-testid=confirm-dialog]")?.textContent).toContain("Cut off desktop?");
    (document.querySelector("[data-testid=confirm-yes]") as HTMLButtonElement).click();
    for (let i = 0; i < 3; i++) await settle();
    expect(calls.find((c) => c.cmd === "cut_off_computer")?.args).toEqual({ who: "desktop" });
    expect(root.querySelector("[data-testid=cut-off-summary]")?.textContent).toBe(report.summary);
    expect([...root.querySelectorAll("[data-testid=cut-off-managers] li")].map((li) => li.getAttribute("data-outcome"))).toEqual(["cut_off", "pending"]);
  });

  it("says nothing was cut off when no manager knows that computer", async () => {
    const { root } = await openSettings({
      cut_off_computer: () => ({ cutOff: 0, pending: 0, summary: "No manager knows a computer of yours called dekstop: nothing was cut off. Check its name or key fingerprint.", managers: [] }),
    });
    (root.querySelector("[data-testid=cut-off-who]") as HTMLInputElement).value = "dekstop";
    (root.querySelector("[data-testid=cut-off-form]") as HTMLFormElement).requestSubmit();
    await settle();
    (document.querySelector("[data-testid=confirm-yes]") as HTMLButtonElement).click();
    for (let i = 0; i < 3; i++) await settle();
    const summary = root.querySelector("[data-testid=cut-off-summary]");
    expect(summary?.getAttribute("role")).toBe("alert");
    expect(summary?.textContent).toContain("nothing was cut off");
  });

  it("does not call a cut-off kept for offline managers done", async () => {
    const { root } = await openSettings({
      cut_off_computer: () => ({
        cutOff: 0,
        pending: 2,
        summary: "No manager could be asked now: 2 will cut off desktop, if it is a computer of yours there, when they next connect.",
        managers: [],
      }),
    });
    (root.querySelector("[data-testid=cut-off-who]") as HTMLInputElement).value = "desktop";
    (root.querySelector("[data-testid=cut-off-form]") as HTMLFormElement).requestSubmit();
    await settle();
    (document.querySelector("[data-testid=confirm-yes]") as HTMLButtonElement).click();
    for (let i = 0; i < 3; i++) await settle();
    expect(root.querySelector("[data-testid=cut-off-summary]")?.className).toBe("notice");
  });
});
