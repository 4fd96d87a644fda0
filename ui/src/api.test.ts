// The backend's failures reach the UI with their kind and sentence.

import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import { BackendError, backend } from "./api";

afterEach(() => clearMocks());

describe("a failed command", () => {
  it("carries the backend's kind and sentence", async () => {
    mockIPC(() => {
      throw { kind: "not_running", message: "NodePair is still starting; try again in a moment" };
    });
    const failure = await backend.pairStart().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(BackendError);
    expect((failure as BackendError).kind).toBe("not_running");
    expect((failure as BackendError).message).toBe("NodePair is still starting; try again in a moment");
  });

  it("that failed outside the backend reads as failed, with what was said", async () => {
    mockIPC(() => {
      throw new Error("IPC unavailable");
    });
    const failure = await backend.managers().catch((e: unknown) => e);
    expect((failure as BackendError).kind).toBe("failed");
    expect((failure as BackendError).message).toBe("IPC unavailable");
  });
});
