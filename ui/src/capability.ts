// One capability of a manager as the window handles it: what it asks, how
// often, what it shows. A new capability is one controller (a file in
// controllers/, found there without being listed) and its view.

import type { ManagerRow } from "./api";
import type { Slot, Store } from "./store";

/** What a controller may use. */
export interface Context {
  store: Store;
  /** A short message in the toast. */
  say(message: string): void;
  /** Milliseconds since the epoch (injected for tests). */
  now(): number;
  /**
   * Asks the person before something that cannot be taken back quietly
   * (a dialog: `title`, `body`, a button saying `verb`); true if they
   * said yes.
   */
  confirm(title: string, body: string, verb: string): Promise<boolean>;
}

export interface Capability<S> extends Slot<S> {
  /** The capability a manager must advertise for this to be asked. */
  readonly capability: string;
  /** Where its section goes on a manager's page: lower first. */
  readonly order: number;
  /**
   * Asks what it needs of manager `key`, which is on screen and online;
   * called at once and then every few seconds.
   */
  refresh?(ctx: Context, key: string): Promise<void>;
  /** The person left `key`'s page: stop what it had started. */
  leave?(ctx: Context, key: string): Promise<void>;
  /** Listens for the backend's pushes, once at start-up. */
  watch?(ctx: Context): Promise<void>;
  /** Its section of the manager's page, or null when it has none. */
  section(ctx: Context, manager: ManagerRow): HTMLElement | null;
}
