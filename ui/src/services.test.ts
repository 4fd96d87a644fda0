// A manager's services: state, and actions only where the operator allows.

import { clearMocks } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { Service } from "./api";
import { start } from "./main";
import { sensibleActions, serviceDetail as serviceDetailOf, serviceTone } from "./services";
import { type Calls, KEY, NOW, mockBackend, mount, running, settle, validator } from "./test_support";

afterEach(() => clearMocks());

const geth: Service = {
  unit: "geth.service",
  description: "Go Ethereum",
  active_state: "active",
  sub_state: "running",
  load_state: "loaded",
  since_ms: NOW - 3 * 3600_000,
  controllable: true,
  error: null,
  kind: "unit",
  container: null,
};
const validatorClient: Service = {
  ...geth,
  unit: "eth-docker/validator",
  kind: "container",
  description: "sigp/lighthouse:v7.0.1",
  controllable: false,
  container: { id: "54d9eb08850e", image: "sigp/lighthouse:v7.0.1", health: "unhealthy", restart_count: 3, exit_code: null },
};
const beacon: Service = { ...geth, unit: "lighthouse.service", description: "Lighthouse", controllable: false };

async function open(calls: Calls, control: (args: Record<string, unknown>) => unknown): Promise<HTMLElement> {
  mockBackend(
    running({ ...validator, capabilities: ["info", "services"] }),
    { "services.list": () => ({ services: [geth, beacon, validatorClient] }), "services.control": control },
    calls,
  );
  const root = mount();
  await start(root, () => NOW);
  (root.querySelector("[data-testid=open-manager]") as HTMLButtonElement).click();
  await settle();
  await settle();
  return root;
}

const button = (root: HTMLElement, unit: string, action: string) =>
  root.querySelector(`[data-unit="${unit}"] [data-testid=service-${action}]`) as HTMLButtonElement;

describe("services", () => {
  it("shows each unit's state and offers only the actions the operator allows", async () => {
    const root = await open([], () => geth);
    const rows = [...root.querySelectorAll("[data-testid=service]")];
    expect(rows.map((r) => r.querySelector(".name")?.textContent)).toEqual(["geth.service", "lighthouse.service", "eth-docker/validator"]);
    expect(rows.map((r) => r.querySelector("[data-testid=service-kind]")?.textContent)).toEqual(["unit", "unit", "container"]);
    expect(rows[0]?.querySelector("[data-testid=service-state]")?.textContent).toBe("active (running)");
    expect(rows[0]?.textContent).toContain("since 3 h ago");
    expect([button(root, "geth.service", "start").disabled, button(root, "geth.service", "stop").disabled]).toEqual([true, false]);
    expect(["start", "stop", "restart"].map((a) => button(root, "lighthouse.service", a).disabled)).toEqual([true, true, true]);
  });

  it("asks the manager, shows the new state, and shows a refusal in its words", async () => {
    const calls: Calls = [];
    let refuse = false;
    const root = await open(calls, () => {
      if (refuse) throw "systemctl restart geth.service failed: Job failed";
      return { ...geth, active_state: "inactive", sub_state: "dead", since_ms: NOW };
    });
    button(root, "geth.service", "stop").click();
    await settle();
    // Stopping asks first.
    expect(root.querySelector("[data-testid=confirm-dialog] h2")?.textContent).toBe("Stop geth.service on validator-1?");
    (root.querySelector("[data-testid=confirm-yes]") as HTMLButtonElement).click();
    await settle();
    expect(calls.filter((c) => c.cmd === "services.control").map((c) => c.args)).toEqual([
      { key: KEY, unit: "geth.service", action: "stop" },
    ]);
    expect(root.querySelector('[data-unit="geth.service"] [data-testid=service-state]')?.textContent).toBe("inactive (dead)");
    expect(button(root, "geth.service", "start").disabled).toBe(false);
    refuse = true;
    button(root, "geth.service", "start").click();
    await settle();
    expect(root.querySelector("[data-testid=services-error]")?.textContent).toBe("systemctl restart geth.service failed: Job failed");
  });

  it("asks before a stop or a restart, and sends nothing when the person cancels; a start needs no question", async () => {
    const calls: Calls = [];
    const root = await open(calls, () => ({ ...geth, since_ms: NOW }));
    const sent = () => calls.filter((c) => c.cmd === "services.control").map((c) => c.args.action);
    button(root, "geth.service", "restart").click();
    await settle();
    const dialog = root.querySelector("[data-testid=confirm-dialog]");
    expect(dialog?.textContent).toContain("Restart geth.service on validator-1?");
    expect(dialog?.textContent).toContain("down while it restarts");
    (root.querySelector("[data-testid=confirm-no]") as HTMLButtonElement).click();
    await settle();
    expect(root.querySelector("[data-testid=confirm-dialog]")).toBeNull();
    expect(sent()).toEqual([]);
    // Escape is a no too.
    button(root, "geth.service", "stop").click();
    await settle();
    expect(root.querySelector("[data-testid=confirm-dialog]")?.textContent).toContain("The service stays stopped");
    root.querySelector("[data-testid=confirm-dialog]")?.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    await settle();
    expect(sent()).toEqual([]);
  });

  it("shows a container beside the units with its image, health, restarts and exit code", async () => {
    const root = await open([], () => geth);
    const row = root.querySelector('[data-unit="eth-docker/validator"]') as HTMLElement;
    expect(row.querySelector("[data-testid=service-detail]")?.textContent).toBe("sigp/lighthouse:v7.0.1 · unhealthy · restarted 3×");
    expect(row.querySelector("[data-testid=service-state]")?.textContent).toBe("active (running), unhealthy");
    expect(row.querySelector("[data-testid=service-state]")?.className).toBe("badge bad");
    const exited = { ...validatorClient, active_state: "failed", sub_state: "exited" };
    exited.container = { id: "54d9eb08850e", image: "sigp/lighthouse:v7.0.1", health: null, restart_count: 0, exit_code: 137 };
    expect(serviceDetailOf(exited)).toBe("sigp/lighthouse:v7.0.1 · exit code 137");
    const gone: Service = { ...validatorClient, load_state: "not-found", active_state: "inactive", sub_state: "dead", container: null };
    expect(serviceDetailOf(gone)).toBe("No container of this name");
    expect(serviceTone(gone)).toBe("bad");
  });

  it("labels states by tone and knows which actions make sense", () => {
    expect(serviceTone(geth)).toBe("good");
    expect(serviceTone({ ...geth, active_state: "failed" })).toBe("bad");
    expect(serviceTone({ ...geth, active_state: "activating" })).toBe("busy");
    expect(serviceTone({ ...geth, active_state: "inactive" })).toBe("idle");
    expect(sensibleActions({ ...geth, active_state: "failed" })).toEqual(["start"]);
    expect(sensibleActions({ ...geth, active_state: "activating" })).toEqual([]);
  });
});
