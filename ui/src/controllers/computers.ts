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
    try {
      this.showing = { kind: "run", view: await backend.joinStart() };
    } catch (error) {
      this.showing = { kind: "error", joining: true, message: messageOf(error) };
    }
    this.show();
    this.reveal();
  }

  /** On a computer already paired: asks for the new computer's code. */
  add(): void {
    this.showing = { kind: "entry" };
    this.show();
    this.reveal();
  }

  /** Brings the card into view: it opens above the page whose button was pressed, maybe far down. */
  private reveal(): void {
    this.section.scrollIntoView?.({ block: "start" });
  }

  private async submit(code: string): Promise<string | null> {
    try {
      const view = await backend.addComputerStart(code);
      this.showing = { kind: "run", view };
      this.show();
      return null;
    } catch (error) {
      return messageOf(error);
    }
  }

  private close(): void {
    if (this.showing.kind === "run" && (LIVE.has(this.showing.view.phase) || this.showing.view.phase === "compare" || this.showing.view.phase === "confirmed")) {
      void backend.computerCancel();
    }
    this.showing = { kind: "closed" };
    this.show();
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
      cancel: () => {
        void backend.computerCancel();
      },
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
