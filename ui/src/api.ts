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
export type HostHealth = gen.HealthResponse_Serialize;
export type SampleView = gen.Sample;
export type UnpairView = gen.UnpairView;
export type Service = gen.Service_Serialize;
export type ServiceAction = gen.Action;
export type SourceKind = gen.SourceKind;

export type SettingsView = gen.SettingsView_Serialize;
export type KeyView = gen.KeyView_Serialize;
export type ComputerView = gen.ComputerView_Serialize;
export type CutOffView = gen.CutOffView;
export type NetworkForm = gen.NetworkForm_Serialize;
export type NetworkView = gen.NetworkView_Serialize;

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

/** Every command the window may call (src-tauri/src/commands.rs) but the manager methods (`ask`). */
export const backend = {
  managers: () => ok(gen.commands.managers()),
  unlock: (passphrase: string) => ok(gen.commands.unlock(passphrase)),
  pairStart: () => ok(gen.commands.pairStart()),
  pairCancel: () => ok(gen.commands.pairCancel()),
  pairConfirm: (matches: boolean) => ok(gen.commands.pairConfirm(matches)),
  rename: (key: string, name: string | null) => ok(gen.commands.renameManager(key, name)),
  unpair: (key: string) => ok(gen.commands.unpairManager(key)),
  settings: () => ok(gen.commands.appSettings()),
  setKeepInTray: (on: boolean) => ok(gen.commands.setKeepInTray(on)),
  setStartAtLogin: (on: boolean) => ok(gen.commands.setStartAtLogin(on)),
  setNetwork: (form: NetworkForm) => ok(gen.commands.setNetwork(form)),
  networkStatus: () => ok(gen.commands.networkStatus()),
  keyStatus: () => ok(gen.commands.keyStatus()),
  rotateKey: () => ok(gen.commands.rotateKey()),
  joinStart: () => ok(gen.commands.joinStart()),
  addComputerStart: (code: string) => ok(gen.commands.addComputerStart(code)),
  computerConfirm: (matches: boolean) => ok(gen.commands.computerConfirm(matches)),
  computerCancel: () => ok(gen.commands.computerCancel()),
  cutOff: (who: string) => ok(gen.commands.cutOffComputer(who)),
};

/** What each manager method takes and answers (protocol/src/api/, generated). */
type Methods = gen.ManagerMethods_Serialize;
/** What each stream's events carry, by kind (`host`, `logs`). */
type Streams = gen.ManagerStreams_Serialize;
/** A manager method's name. */
export type Method = keyof Methods;
export type RequestOf<M extends Method> = Methods[M]["request"];
export type ResponseOf<M extends Method> = Methods[M]["response"];

/**
 * Asks manager `key` for `method`: the one way the window calls a manager,
 * typed by the generated map. A follow is asked for again by the backend
 * whenever the manager comes back online, until it is stopped.
 */
export function ask<M extends Method>(key: string, method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
  return ok(gen.commands.askManager(key, method, request)) as Promise<ResponseOf<M>>;
}

/** Calls `onChange` with every new managers view. */
export function watchManagers(onChange: (view: ManagersView) => void): Promise<() => void> {
  return gen.events.managersView.listen((event) => onChange(event.payload));
}

/** Calls `onChange` whenever the pairing under way moves on. */
export function watchPairing(onChange: (view: PairingView) => void): Promise<() => void> {
  return gen.events.pairingView.listen((event) => onChange(event.payload));
}

/** Calls `onChange` with each step of adding a computer. */
export function watchComputer(onChange: (view: ComputerView) => void): Promise<() => void> {
  return gen.events.computerView.listen((event) => onChange(event.payload));
}

/** What the tray's menu asks the window to show. */
export type TrayAction = gen.TrayAction;

/** Calls `on` with each thing the tray's menu asks the window to show. */
export function watchTray(on: (action: TrayAction) => void): Promise<() => void> {
  return gen.events.trayAction.listen((event) => on(event.payload));
}

/** Calls `on` with every event a manager pushes on a stream of `kind`. */
export function watchStream<K extends keyof Streams>(
  kind: K,
  on: (key: string, stream: string, body: Streams[K]) => void,
): Promise<() => void> {
  return gen.events.managerEvent.listen(({ payload }) => {
    if (payload.kind === kind) on(payload.key, payload.stream, payload.body as Streams[K]);
  });
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
