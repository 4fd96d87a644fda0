// A manager's validators: the table as the manager answers it, a source
// that failed said as such, and the labels.

import { clearMocks } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { start } from "./main";
import { KEY, NOW, mockBackend, running, settle, validator } from "./test_support";
import { type ValidatorsStatus, changeLabel, shortKey, statusLabel, validatorsSummary } from "./validators";

afterEach(() => clearMocks());

const KEY_A = `0x8f1c${"0".repeat(88)}3a2b`;

function answer(): ValidatorsStatus {
  const view = (index: number, status: string, balance: number, live: number) => ({
    index,
    pubkey: KEY_A,
    status: status as "active_ongoing",
    balance_gwei: balance,
    change_epoch_gwei: index === 1234568 ? -14_321 : 11_842,
    change_day_gwei: null,
    live: { live, judged: 10 },
    reward_gwei: null,
    next_proposal: index === 1234567 ? { slot: 10_512_400, at_ms: NOW + 11 * 60_000 } : null,
    sync_committee:
      index === 1234568 ? { from_epoch: 328_448, until_epoch: 328_704, from_ms: NOW - 86_400_000, until_ms: NOW + 5 * 3_600_000 } : null,
  });
  return {
    chain: { value: { slot: 10_512_345, epoch: 328_510 } },
    summary: { count: 4, active: 3, missed: 1, slashed: 1, in_sync_committee: 1 },
    validators: {
      value: [
        view(1234567, "active_ongoing", 32_012_345_678, 10),
        view(1234568, "active_ongoing", 31_998_765_432, 7),
        view(1234569, "active_slashed", 31_000_000_000, 0),
        view(1234570, "pending_queued", 32_000_000_000, 0),
      ],
    },
    more: false,
    unknown_keys: [],
    unknown_count: 0,
    liveness: { value: { epoch: 328_509 } },
    rewards: { error: { kind: "not_served", message: "POST /eth/v1/beacon/rewards/attestations/328508: http://127.0.0.1:5052/ answered 404 Not Found: Epoch not known" } },
    duties: { value: { epoch: 328_510 } },
    sync_duties: { value: { epoch: 328_510 } },
    keymanager: null,
    read_at_ms: NOW - 2000,
  };
}

describe("validators", () => {
  it("show a table of what the beacon node says, and a source it does not serve as such", async () => {
    mockBackend(running({ ...validator, capabilities: ["info", "validators"] }), { "validators.status": () => answer() });
    localStorage.setItem("nodepair.view", `manager:${KEY}`);
    const root = document.createElement("main");
    document.body.replaceChildren(root);
    await start(root, () => NOW);
    await settle();
    const rows = [...root.querySelectorAll("[data-testid=validator]")];
    expect(rows.map((r) => r.getAttribute("data-index"))).toEqual(["1234567", "1234568", "1234569", "1234570"]);
    const cells = (i: number) => [...(rows[i]?.querySelectorAll("td") ?? [])].map((c) => c.textContent);
    expect(cells(0)).toEqual(["1,234,567", "0x8f1c…3a2b", "Active", "32.0123 ETH", "+0.0000118 ETH", "–", "10/10", "–", "proposal in 11 min"]);
    expect(cells(1)[4]).toBe("−0.0000143 ETH");
    expect(cells(1)[8]).toBe("sync committee, 5 h left");
    expect(cells(2)[2]).toBe("Slashed");
    expect(root.querySelector("[data-testid=validators-summary]")?.textContent).toBe("4 validators · 1 missed · 1 slashed · read just now");
    expect(root.querySelector("[data-testid=source-rewards]")?.textContent).toContain("rewards: Not served");
  });

  it("turn pages of a hundred, keep the last table when an ask fails, and say so", async () => {
    const asked: (number | null)[] = [];
    let fail = false;
    const page = (after: number | null): ValidatorsStatus => {
      const a = answer();
      const from = after === null ? 1_000_000 : after + 1;
      const first = (a.validators as Extract<ValidatorsStatus["validators"], { value: unknown }>).value[0]!;
      const views = Array.from({ length: after === null ? 100 : 50 }, (_, i) => ({ ...first, index: from + i }));
      return { ...a, summary: { ...a.summary, count: 150 }, validators: { value: views }, more: after === null, unknown_keys: ["0x93247f2209abcacf57b75a51dafae777f9dd38bc7053d1af526f220a7489a6d3a2753e5f3e8b1cfe39b56f43611df74a"], unknown_count: 3 };
    };
    mockBackend(running({ ...validator, capabilities: ["info", "validators"] }), {
      "validators.status": (args: Record<string, unknown>) => {
        if (fail) throw "the manager did not answer in time";
        const after = args.after_index as number | null;
        asked.push(after);
        return page(after);
      },
    });
    localStorage.setItem("nodepair.view", `manager:${KEY}`);
    const root = document.createElement("main");
    document.body.replaceChildren(root);
    await start(root, () => NOW);
    await settle();
    expect(root.querySelectorAll("[data-testid=validator]").length).toBe(100);
    expect(root.querySelector("[data-testid=validators-pages]")?.textContent).toContain("1–100 of 150");
    expect(root.querySelector("[data-testid=validators-unknown]")?.textContent).toBe("3 listed validators are not known to the beacon node yet (a deposit not yet seen?).");
    (root.querySelector("[data-testid=validators-next]") as HTMLButtonElement).click();
    await settle();
    expect(asked.at(-1)).toBe(1_000_099);
    const rows = [...root.querySelectorAll("[data-testid=validator]")];
    expect(rows.length).toBe(50);
    expect(rows[0]?.getAttribute("data-index")).toBe("1000100");
    expect(root.querySelector("[data-testid=validators-pages]")?.textContent).toContain("101–150 of 150");
    expect((root.querySelector("[data-testid=validators-next]") as HTMLButtonElement).disabled).toBe(true);
    fail = true;
    (root.querySelector("[data-testid=validators-previous]") as HTMLButtonElement).click();
    await settle();
    expect(root.querySelector("[data-testid=validators-ask-error]")?.textContent).toBe("Not updated: the manager did not answer in time");
    expect(root.querySelectorAll("[data-testid=validator]").length).toBe(50);
  });

  it("put the count on the managers row, and a proposal alert is info, not trouble", async () => {
    const info = {
      id: 3,
      rule: "validator_proposal" as const,
      subject: "validator 1234567",
      severity: "info" as const,
      summary: "Validator 1234567 proposes the block of slot 10512400 in 7 minutes",
      first_seen_ms: NOW - 60_000,
      last_seen_ms: NOW,
      resolved_at_ms: null,
      readings: [],
      acknowledged: null,
      muted_until_ms: null,
      muted_by: null,
    };
    mockBackend(running({ ...validator, capabilities: ["info", "validators"], validators: answer().summary, alerts: [info] }), {});
    localStorage.clear();
    const root = document.createElement("main");
    document.body.replaceChildren(root);
    await start(root, () => NOW);
    await settle();
    expect(root.querySelector("[data-testid=validators-line]")?.textContent).toBe("4 validators · 1 missed · 1 slashed");
    expect(root.querySelector("[data-testid=worst-alert]")?.textContent).toBe(`Info: ${info.summary}`);
    expect(root.querySelector("[data-testid=alerts-count]"), "info is not counted as trouble").toBeNull();
  });

  it("labels read as people say them", () => {
    expect(changeLabel(null)).toBe("–");
    expect(changeLabel(3_024_000)).toBe("+0.0030 ETH");
    expect(changeLabel(0)).toBe("±0.0000 ETH");
    expect(shortKey(KEY_A)).toBe("0x8f1c…3a2b");
    expect(statusLabel("active_consolidating")).toEqual({ label: "active_consolidating", tone: "idle" });
    expect(validatorsSummary({ count: 1, active: 1, missed: 0, slashed: 0, in_sync_committee: 0 })).toBe("1 validator");
    expect(validatorsSummary({ count: 10_000, active: 9_990, missed: 1_200, slashed: 0, in_sync_committee: 2 })).toBe("10,000 validators · 1,200 missed");
  });
});
