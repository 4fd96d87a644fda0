// The backend as the UI calls it: the generated bindings (bindings.ts), with
// a failed command thrown as a BackendError carrying its kind and sentence.

import * as gen from "./bindings";

export type ManagersView = gen.ManagersView_Serialize;
export type ManagerRow = gen.ManagerRow_Serialize;
export type PairingView = gen.PairingView_Serialize;
export type PairingPhase = gen.PairingPhase;
export type NodeState = gen.NodeState;
export type BackendState = gen.BackendState;
export type UnlockView = gen.UnlockView_Serialize;
export type HostHealth = gen.HostHealth;
export type SampleView = gen.SampleView;
export type DiskView = gen.DiskView;
export type UnpairView = gen.UnpairView;
export type Service = gen.Service_Serialize;
export type ServiceAction = gen.Action;

export type ErrorKind = gen.ErrorKind;

/** A command's failure: its kind, and the backend's sentence as the message. */
export class BackendError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "BackendError";
  }
}

type Outcome<T> = { status: "ok"; data: T } | { status: "error"; error: gen.AppError };

async function ok<T>(call: Promise<Outcome<T>>): Promise<T> {
  let outcome: Outcome<T>;
  try {
    outcome = await call;
  } catch (thrown) {
    // The IPC itself failed (the bindings rethrow such errors).
    throw new BackendError("failed", thrown instanceof Error ? thrown.message : String(thrown));
  }
  if (outcome.status === "ok") return outcome.data;
  const error: unknown = outcome.error;
  if (typeof error === "object" && error !== null && "kind" in error && "message" in error) {
    const { kind, message } = error as gen.AppError;
    throw new BackendError(kind, message);
  }
  // A failure outside the command (the IPC itself) is no AppError.
  throw new BackendError("failed", error instanceof Error ? error.message : String(error));
}

/** Every command the window may call (src-tauri/src/commands.rs). */
export const backend = {
  managers: () => ok(gen.commands.managers()),
  unlock: (passphrase: string) => ok(gen.commands.unlock(passphrase)),
  pairStart: () => ok(gen.commands.pairStart()),
  pairCancel: () => ok(gen.commands.pairCancel()),
  pairConfirm: (matches: boolean) => ok(gen.commands.pairConfirm(matches)),
  rename: (key: string, name: string | null) => ok(gen.commands.renameManager(key, name)),
  unpair: (key: string) => ok(gen.commands.unpairManager(key)),
  health: (key: string, samplesAfterMs: number) =>
    ok(gen.commands.managerHealth({ key, samplesAfterMs })),
  eth: (key: string) => ok(gen.commands.managerEth(key)),
  services: (key: string) => ok(gen.commands.managerServices(key)),
  control: (key: string, unit: string, action: gen.Action) => ok(gen.commands.managerServiceControl(key, unit, action)),
  logSources: (key: string) => ok(gen.commands.managerLogs(key)),
  logTail: (key: string, source: string, lines: number) => ok(gen.commands.managerLogTail(key, source, lines)),
  logFollow: (key: string, source: string) => ok(gen.commands.managerLogFollow(key, source)),
  logUnfollow: (key: string, source: string) => ok(gen.commands.managerLogUnfollow(key, source)),
  hostFollow: (key: string, intervalMs: number) => ok(gen.commands.managerHostFollow(key, intervalMs)),
  hostUnfollow: (key: string) => ok(gen.commands.managerHostUnfollow(key)),
};

/** Calls `onChange` with every new managers view. */
export function watchManagers(onChange: (view: ManagersView) => void): Promise<() => void> {
  return gen.events.managersView.listen((event) => onChange(event.payload));
}

/** Calls `onChange` whenever the pairing under way moves on. */
export function watchPairing(onChange: (view: PairingView) => void): Promise<() => void> {
  return gen.events.pairingView.listen((event) => onChange(event.payload));
}

/** Calls `onLines` with every batch of a followed log's new lines. */
export function watchLogs(onLines: (event: gen.LogLines) => void): Promise<() => void> {
  return gen.events.logLines.listen((event) => onLines(event.payload));
}

/** Calls `onUpdate` with every host health a followed manager pushes. */
export function watchHost(onUpdate: (event: gen.HostUpdate) => void): Promise<() => void> {
  return gen.events.hostUpdate.listen((event) => onUpdate(event.payload));
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
