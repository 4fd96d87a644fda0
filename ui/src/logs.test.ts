// A manager's logs: tail, follow with events, search, and budget drops shown.

import { emit } from "@tauri-apps/api/event";
import { clearMocks } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, onTestFinished } from "vitest";
import type { SourceKind } from "./api";
import { appendLines, emptyLogs, filterLines, sourceKind } from "./logs";
import { start } from "./main";
import { type Calls, KEY, NOW, mockBackend, mount, running, settle, validator } from "./test_support";

afterEach(() => clearMocks());

describe("log helpers", () => {
  it("keeps the newest lines and searches ignoring case", () => {
    expect(appendLines(["a", "b"], ["c", "d"], 3)).toEqual(["b", "c", "d"]);
    expect(filterLines(["ERROR disk", "info ok", "error net"], " error ")).toEqual(["ERROR disk", "error net"]);
    expect(filterLines(["x"], "")).toEqual(["x"]);
  });
});

describe("log sources", () => {
  it("are told apart by what the manager says, or by their form from one that does not say", () => {
    const said = { ...emptyLogs(), sources: ["geth", "/var/log/x.log"], kinds: ["container", "file"] as SourceKind[] };
    expect([sourceKind(said, 0), sourceKind(said, 1)]).toEqual(["container", "file"]);
    const older = { ...emptyLogs(), sources: ["geth.service", "/var/log/x.log"] };
    expect([sourceKind(older, 0), sourceKind(older, 1)]).toEqual(["unit", "file"]);
  });
});

describe("log viewer", () => {
  it("tails the chosen log, follows it live, searches, and says what the budget dropped", async () => {
    const calls: Calls = [];
    mockBackend(
      running({ ...validator, capabilities: ["info", "logs"] }),
      {
        "logs.sources": () => ({
          sources: ["geth.service", "lighthouse", "/var/log/beacon.log"],
          bytes_per_sec: 16384,
          kinds: ["unit", "container", "file"],
        }),
        "logs.tail": () => ({
          source: "geth.service",
          lines: ["INFO imported block 1", "WARN peer dropped"],
          dropped_bytes: 9000,
          left_out: 12,
        }),
        "logs.follow": () => ({ stream: "logs:geth.service" }),
      },
      calls,
    );
    const root = mount();
    await start(root, () => NOW);
    (root.querySelector("[data-testid=open-manager]") as HTMLButtonElement).click();
    await settle();
    await settle();
    const select = root.querySelector("[data-testid=log-source]") as HTMLSelectElement;
    expect([...select.options].map((o) => o.value)).toEqual(["", "geth.service", "lighthouse", "/var/log/beacon.log"]);
    // Marked by kind: one group each.
    expect([...select.querySelectorAll("optgroup")].map((g) => [g.label, [...g.querySelectorAll("option")].map((o) => o.value)])).toEqual([
      ["Units (journal)", ["geth.service"]],
      ["Containers", ["lighthouse"]],
      ["Files", ["/var/log/beacon.log"]],
    ]);
    select.value = "geth.service";
    select.dispatchEvent(new Event("change"));
    await settle();
    expect(calls.find((c) => c.cmd === "logs.tail")?.args).toEqual({ key: KEY, source: "geth.service", lines: 200, skip: 0 });
    const text = () => root.querySelector("[data-testid=log-lines]")?.textContent;
    expect(text()).toBe("INFO imported block 1\nWARN peer dropped");
    // The manager cut the tail to fit one answer, and said so.
    expect(root.querySelector("[data-testid=log-left-out]")?.textContent).toBe(
      "12 older lines did not fit in one answer",
    );

    (root.querySelector("[data-testid=log-follow]") as HTMLButtonElement).click();
    await settle();
    expect(calls.find((c) => c.cmd === "logs.follow")?.args).toEqual({ key: KEY, source: "geth.service" });
    await emit("manager-event", { key: KEY, kind: "logs", stream: "logs:geth.service", body: { source: "geth.service", lines: ["INFO imported block 2"], dropped_bytes: 4096 } });
    expect(text()).toBe("INFO imported block 1\nWARN peer dropped\nINFO imported block 2");
    expect(root.querySelector("[data-testid=log-dropped]")?.textContent).toContain("4096 bytes left out");

    // WebKit (the app's engine on Linux and macOS) selects a text field's
    // whole text when a script focuses it; happy-dom does not, so do it here.
    const focus = HTMLInputElement.prototype.focus;
    HTMLInputElement.prototype.focus = function (this: HTMLInputElement, options?: FocusOptions) {
      focus.call(this, options);
      this.setSelectionRange(0, this.value.length);
    };
    onTestFinished(() => {
      HTMLInputElement.prototype.focus = focus;
    });
    const search = root.querySelector("[data-testid=log-search]") as HTMLInputElement;
    search.focus();
    search.value = "warn";
    search.setSelectionRange(4, 4);
    search.dispatchEvent(new Event("input"));
    expect(text()).toBe("WARN peer dropped");
    // The re-rendered field keeps the focus and the caret where typing was,
    // so the next key adds to the query instead of replacing it.
    const again = root.querySelector("[data-testid=log-search]") as HTMLInputElement;
    expect(document.activeElement).toBe(again);
    expect([again.value, again.selectionStart, again.selectionEnd]).toEqual(["warn", 4, 4]);
    // Matches are marked, and the count says what was searched: only the
    // lines here.
    expect([...root.querySelectorAll("[data-testid=log-lines] mark")].map((m) => m.textContent)).toEqual(["WARN"]);
    expect(root.querySelector("[data-testid=log-count]")?.textContent).toBe(
      "1 of the 3 lines here match; search the server for older ones.",
    );
  });

  it("searches the server for older lines, says how many it searched, and goes back to the log", async () => {
    const calls: Calls = [];
    let searches = true;
    mockBackend(
      running({ ...validator, capabilities: ["info", "logs"] }),
      {
        "logs.sources": () => ({ sources: ["geth.service"], bytes_per_sec: 16384, kinds: ["unit"] }),
        "logs.tail": (args) =>
          args.pattern === undefined
            ? { source: "geth.service", lines: ["INFO imported block 9"], dropped_bytes: 0, left_out: 0 }
            : searches
              ? {
                  source: "geth.service",
                  lines: ["WARN Peer dropped (id 1)", "warn: peer dropped again, peer 2"],
                  dropped_bytes: 0,
                  left_out: 3,
                  searched: 50_000,
                }
              : // A manager from before searches: a plain tail, no `searched`.
                { source: "geth.service", lines: ["INFO imported block 9"], dropped_bytes: 0, left_out: 0 },
      },
      calls,
    );
    const root = mount();
    await start(root, () => NOW);
    (root.querySelector("[data-testid=open-manager]") as HTMLButtonElement).click();
    await settle();
    await settle();
    const select = root.querySelector("[data-testid=log-source]") as HTMLSelectElement;
    select.value = "geth.service";
    select.dispatchEvent(new Event("change"));
    await settle();
    const onServer = () => root.querySelector("[data-testid=log-search-server]") as HTMLButtonElement;
    expect(onServer().disabled).toBe(true);
    const search = root.querySelector("[data-testid=log-search]") as HTMLInputElement;
    search.value = "peer";
    search.dispatchEvent(new Event("input"));
    expect(root.querySelector("[data-testid=log-lines]")?.textContent).toBe("");
    onServer().click();
    await settle();
    expect(calls.filter((c) => c.cmd === "logs.tail").at(-1)?.args).toEqual({
      key: KEY,
      source: "geth.service",
      lines: 1000,
      skip: 0,
      pattern: "peer",
    });
    expect(root.querySelector("[data-testid=log-lines]")?.textContent).toBe("WARN Peer dropped (id 1)\nwarn: peer dropped again, peer 2");
    expect([...root.querySelectorAll("[data-testid=log-lines] mark")].map((m) => m.textContent)).toEqual(["Peer", "peer", "peer"]);
    expect(root.querySelector("[data-testid=log-count]")?.textContent).toBe(
      "On the server: 2 lines match “peer” in its newest 50,000 lines; 3 older matches did not fit in one answer.",
    );
    (root.querySelector("[data-testid=log-search-clear]") as HTMLButtonElement).click();
    await settle();
    expect(root.querySelector("[data-testid=log-search-clear]")).toBeNull();

    // An older manager ignores the pattern: said so, not shown as matches.
    searches = false;
    onServer().click();
    await settle();
    expect(root.querySelector("[data-testid=log-count]")?.textContent).toContain("cannot search on the server");
  });
});
