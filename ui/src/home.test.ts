// The first screen shows what the backend says, and a clear error when the
// backend cannot be reached.

import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { start } from "./main";

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
        if (cmd === "managers") return { backend: "starting", error: null, managers: [] };
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
