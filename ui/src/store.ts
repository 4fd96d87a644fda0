// What the window knows: the managers as the backend reports them, which
// view is open, and each capability's state per manager; and who redraws
// when any of it changes.

import type { ManagerRow, ManagersView } from "./api";
import { type View, loadView, saveView } from "./view_state";

/** A piece of state one capability keeps per manager. */
export interface Slot<S> {
  /** Names it, per manager. */
  readonly name: string;
  /** Its state before anything was asked. */
  empty(): S;
}

export class Store {
  /** The latest managers view from the backend. */
  managers: ManagersView | null = null;
  private current: View = loadView();
  private readonly states = new Map<string, Map<string, unknown>>();
  private readonly listeners: (() => void)[] = [];

  /** The view on screen. */
  get view(): View {
    return this.current;
  }

  /** Opens `view` (remembered for the next start). */
  set view(next: View) {
    this.current = next;
    saveView(next);
  }

  /** The manager on screen, if one is and it is still paired. */
  get open(): ManagerRow | undefined {
    const view = this.current;
    return view.kind === "manager" ? this.manager(view.key) : undefined;
  }

  /** Whether `key`'s page is on screen. */
  showing(key: string): boolean {
    return this.current.kind === "manager" && this.current.key === key;
  }

  /**
   * Takes a managers view from the backend unless the one held is newer:
   * an answer can arrive after events the backend read later (100
   * managers coming online at once), and must not put their old states
   * back. Returns whether it was taken.
   */
  offer(next: ManagersView): boolean {
    if (this.managers && next.seq < this.managers.seq) return false;
    const before = this.managers?.managers ?? [];
    this.managers = next;
    // A manager that moved to a new key (its operator rotated it) is the
    // same manager, known by the same node id, and new to the list: its
    // page and what was asked of it follow it. (A manager listed before
    // that claims the same node id does not take them over.)
    for (const old of before) {
      if (this.manager(old.key)) continue;
      const moved = next.managers.find((m) => m.nodeId === old.nodeId && !before.some((b) => b.key === m.key));
      if (!moved) continue;
      const states = this.states.get(old.key);
      if (states && !this.states.has(moved.key)) this.states.set(moved.key, states);
      this.states.delete(old.key);
      if (this.showing(old.key)) this.view = { kind: "manager", key: moved.key };
    }
    return true;
  }

  manager(key: string): ManagerRow | undefined {
    return this.managers?.managers.find((m) => m.key === key);
  }

  /** `slot`'s state for manager `key`, created empty the first time. */
  get<S>(key: string, slot: Slot<S>): S {
    let all = this.states.get(key);
    if (!all) {
      all = new Map();
      this.states.set(key, all);
    }
    if (!all.has(slot.name)) all.set(slot.name, slot.empty());
    return all.get(slot.name) as S;
  }

  /** Replaces `slot`'s state for manager `key`. */
  set<S>(key: string, slot: Slot<S>, state: S): void {
    this.get(key, slot);
    this.states.get(key)?.set(slot.name, state);
  }

  /** Whether `slot` has state for `key` yet. */
  has<S>(key: string, slot: Slot<S>): boolean {
    return this.states.get(key)?.has(slot.name) ?? false;
  }

  /** Forgets everything of an unpaired manager. */
  forget(key: string): void {
    this.states.delete(key);
  }

  /** Calls `listener` after every change. */
  subscribe(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Something changed: redraw. */
  changed(): void {
    for (const listener of this.listeners) listener();
  }
}
