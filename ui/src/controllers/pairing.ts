// The pairing card: a new code on request, its progress as the backend
// reports it, the comparison's answer, and a toast when a pairing that had
// completed is taken back after the card was closed.

import { type PairingView, backend, messageOf, watchPairing } from "../api";
import type { Context } from "../capability";
import { h } from "../dom";
import { LIVE, renderPairing } from "../pairing";

/** How often the countdown moves. */
const TICK_MS = 1000;

export class PairingCard {
  private view: PairingView | null = null;
  /** The code of the last pairing that completed: it may still be taken back. */
  private lastPaired: string | null = null;
  private error: string | null = null;

  /** `onOpen` hears whether the card shows, so the top bar's button can step aside while it does. */
  constructor(
    private readonly ctx: Context,
    private readonly section: HTMLElement,
    private readonly onOpen: (open: boolean) => void = () => {},
  ) {}

  /** Follows the backend's pairing events and moves the countdown. */
  async watch(): Promise<void> {
    await watchPairing((next) => {
      if (this.view && next.code === this.view.code) {
        this.view = next;
        this.show();
      } else if (next.code === this.lastPaired && next.phase === "failed") {
        // Taken back after the card was closed (someone else answered the
        // same code within seconds): the manager leaves the list; say why.
        this.ctx.say(next.error ?? "The pairing was taken back.");
      }
      if (next.phase === "paired") this.lastPaired = next.code;
    });
    setInterval(() => {
      if (this.view && LIVE.has(this.view.phase)) this.show();
    }, TICK_MS);
  }

  /** Draws a new code. */
  async begin(): Promise<void> {
    try {
      this.error = null;
      this.view = await backend.pairStart();
    } catch (error) {
      this.view = null;
      this.error = messageOf(error);
    }
    this.show();
  }

  private show(): void {
    const section = this.section;
    if (this.error) {
      section.hidden = false;
      this.onOpen(true);
      section.replaceChildren(
        h("h2", { id: "pairing-title" }, "Pair a manager"),
        h("p", { class: "notice bad", role: "alert" }, this.error),
      );
      return;
    }
    section.hidden = this.view === null;
    this.onOpen(this.view !== null);
    if (this.view) {
      renderPairing(section, this.view, this.ctx.now(), {
        cancel: () => void backend.pairCancel(),
        confirm: (matches) => void backend.pairConfirm(matches),
        newCode: () => void this.begin(),
        close: () => {
          this.view = null;
          this.error = null;
          this.show();
        },
      });
    }
  }
}
