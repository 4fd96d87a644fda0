// The card for adding a computer, on either side: the code to show or the
// field to type it in, its progress as the backend reports it, the
// comparison's answer, and what each manager did.

import { type ComputerView, backend, messageOf, watchComputer } from "../api";
import type { Context } from "../capability";
import { renderCodeEntry, renderComputer } from "../computers";
import { button, h } from "../dom";
import { LIVE } from "../pairing";

/** How often the countdown moves. */
const TICK_MS = 1000;

type Showing = { kind: "closed" } | { kind: "entry" } | { kind: "run"; view: ComputerView } | { kind: "error"; joining: boolean; message: string };

export class ComputerCard {
  private showing: Showing = { kind: "closed" };
  /** A start asked of the backend and not answered yet: a second click waits for it. */
  private starting = false;

  constructor(
    private readonly ctx: Context,
    private readonly section: HTMLElement,
  ) {}

  /** Follows the backend's events for the run shown, and moves the countdown. */
  async watch(): Promise<void> {
    await watchComputer((next) => {
      if (this.showing.kind === "run" && this.showing.view.id === next.id) {
        this.showing = { kind: "run", view: next };
        this.show();
      }
    });
    setInterval(() => {
      if (this.showing.kind === "run" && LIVE.has(this.showing.view.phase)) this.show();
    }, TICK_MS);
  }

  /** On the new computer: draws a code to type on the other one. */
  async join(): Promise<void> {
    if (this.starting) return;
    this.starting = true;
    try {
      this.showing = { kind: "run", view: await backend.joinStart() };
    } catch (error) {
      this.showing = { kind: "error", joining: true, message: messageOf(error) };
    } finally {
      this.starting = false;
    }
    this.show();
    this.reveal();
  }

  /** On a computer already paired: asks for the new computer's code. */
  add(): void {
    // One run at a time: a code shown for joining is withdrawn first.
    if (this.live()) void backend.computerCancel().catch(() => {});
    this.showing = { kind: "entry" };
    this.show();
    this.reveal();
  }

  /** Brings the card into view: it opens above the page whose button was pressed, maybe far down. */
  private reveal(): void {
    this.section.scrollIntoView?.({ block: "start" });
  }

  private async submit(code: string): Promise<string | null> {
    if (this.starting) return null;
    this.starting = true;
    try {
      const view = await backend.addComputerStart(code);
      this.showing = { kind: "run", view };
      this.show();
      return null;
    } catch (error) {
      return messageOf(error);
    } finally {
      this.starting = false;
    }
  }

  /** Whether the run shown can still be cancelled (before both confirmed). */
  private live(): boolean {
    const s = this.showing;
    return s.kind === "run" && (LIVE.has(s.view.phase) || s.view.phase === "compare" || s.view.phase === "confirmed");
  }

  private close(): void {
    if (this.live()) void backend.computerCancel().catch(() => {});
    this.showing = { kind: "closed" };
    this.show();
  }

  /** Cancels the run; one the backend no longer has ends here too. */
  private cancel(): void {
    void backend.computerCancel().catch(() => {
      if (this.showing.kind === "run") {
        this.showing = { kind: "run", view: { ...this.showing.view, phase: "cancelled", step: "adding the computer was cancelled" } };
        this.show();
      }
    });
  }

  private show(): void {
    const section = this.section;
    const s = this.showing;
    section.hidden = s.kind === "closed";
    const actions = {
      submit: (code: string) => this.submit(code),
      confirm: (matches: boolean) => {
        void backend.computerConfirm(matches).catch((error: unknown) => this.ctx.say(messageOf(error)));
      },
      cancel: () => this.cancel(),
      again: () => {
        if (s.kind === "run" && s.view.joining) void this.join();
        else this.add();
      },
      close: () => this.close(),
    };
    switch (s.kind) {
      case "closed":
        section.replaceChildren();
        return;
      case "entry":
        renderCodeEntry(section, actions);
        return;
      case "error":
        section.replaceChildren(
          h("h2", { id: "computer-title" }, s.joining ? "Join from another computer" : "Add a computer"),
          h("p", { class: "notice bad", role: "alert", "data-testid": "computer-error" }, s.message),
          h("div", { class: "actions" }, button("Close", () => this.close(), { "data-testid": "computer-close" })),
        );
        return;
      case "run":
        renderComputer(section, s.view, this.ctx.now(), actions);
        return;
    }
  }
}
