// The UI's pure logic: number labels, the sample history, chart geometry,
// the passphrase checks and the remembered view.

import { describe, expect, it } from "vitest";
import { byteScale, linePath } from "./chart";
import { bytesLabel, durationLabel, loadLabel, percentLabel, usageTone } from "./format";
import { HISTORY_MS, mergeSamples, newestSampleMs } from "./history";
import { checkPassphrase } from "./unlock";
import { loadView, saveView } from "./view_state";

describe("labels of host numbers", () => {
  it("reads bytes, shares, durations and load like a person would", () => {
    expect(bytesLabel(512)).toBe("512 B");
    expect(bytesLabel(1.5 * 1024 ** 3)).toBe("1.5 GiB");
    expect(bytesLabel(931 * 1024 ** 3)).toBe("931 GiB");
    expect(bytesLabel(2 * 1024 ** 4)).toBe("2.0 TiB");
    expect(percentLabel(1, 3)).toBe("33 %");
    expect(percentLabel(1, 0)).toBe("–");
    expect(durationLabel(45)).toBe("45 s");
    expect(durationLabel(12 * 60)).toBe("12 min");
    expect(durationLabel(5 * 3600 + 180)).toBe("5 h 3 min");
    expect(durationLabel(3 * 86400 + 4 * 3600)).toBe("3 d 4 h");
    expect(loadLabel([0.5, 0.612, 1])).toBe("0.50 · 0.61 · 1.00");
    expect([usageTone(1, 2), usageTone(8, 10), usageTone(95, 100)]).toEqual(["good", "busy", "bad"]);
  });
});

describe("sample history", () => {
  const at = (at_ms: number) => ({ at_ms, cpu_percent: 1, memory_used: 1 });

  it("keeps each sample once, in order, for the last 15 minutes only", () => {
    const merged = mergeSamples([at(1000), at(2000)], [at(2000), at(3000)]);
    expect(merged.map((s) => s.at_ms)).toEqual([1000, 2000, 3000]);
    const old = mergeSamples([at(0)], [at(HISTORY_MS + 1)]);
    expect(old.map((s) => s.at_ms)).toEqual([HISTORY_MS + 1]);
    expect(newestSampleMs(merged)).toBe(3000);
    expect(newestSampleMs([])).toBe(0);
  });
});

describe("charts", () => {
  it("scales a byte chart to a round number above its highest value, never above the total", () => {
    const GiB = 1024 ** 3;
    const MiB = 1024 ** 2;
    // 949 MiB on a 24 GiB machine: a 2 GiB chart, not a flat line at 4 %.
    expect(byteScale(949 * MiB, 24 * GiB)).toBe(2 * GiB);
    expect(byteScale(3.2 * GiB, 24 * GiB)).toBe(5 * GiB);
    expect(byteScale(12 * GiB, 16 * GiB)).toBe(16 * GiB);
    expect(byteScale(300 * MiB, 0)).toBe(500 * MiB);
    expect(byteScale(0, 24 * GiB)).toBe(1);
    expect(byteScale(95 * GiB, 128 * GiB)).toBe(128 * GiB);
  });

  const frame = { width: 100, height: 50, endMs: 10_000, spanMs: 10_000, max: 100 };

  it("maps time to x and value to y, and clamps values to the frame", () => {
    expect(linePath([{ t: 0, v: 0 }, { t: 5000, v: 50 }, { t: 10_000, v: 150 }], frame, 6000)).toBe(
      "M0.0,50.0 L50.0,25.0 L100.0,0.0",
    );
  });

  it("breaks the line where samples are missing, and draws nothing without data", () => {
    const path = linePath([{ t: 1000, v: 10 }, { t: 2000, v: 10 }, { t: 9000, v: 10 }], frame, 2500);
    expect(path.match(/M/g)).toHaveLength(2);
    expect(linePath([], frame, 2500)).toBe("");
    expect(linePath([{ t: -5, v: 1 }], frame, 2500)).toBe("");
  });
});

describe("vault passphrase", () => {
  it("asks for something, and for a new vault a long one typed twice", () => {
    expect(checkPassphrase("", "", false)).toBe("Enter the passphrase.");
    expect(checkPassphrase("x", "", false)).toBeNull();
    expect(checkPassphrase("short", "short", true)).toContain("at least 8 characters");
    expect(checkPassphrase("long enough", "long enougH", true)).toContain("differ");
    expect(checkPassphrase("long enough", "long enough", true)).toBeNull();
  });
});

describe("remembered view", () => {
  it("round-trips a manager's view and falls back to the list on anything else", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const key = "ab".repeat(32);
    saveView({ kind: "manager", key }, storage);
    expect(loadView(storage)).toEqual({ kind: "manager", key });
    store.set("nodepair.view", "manager:<script>");
    expect(loadView(storage)).toEqual({ kind: "list" });
    expect(loadView({ getItem: () => null })).toEqual({ kind: "list" });
  });
});
