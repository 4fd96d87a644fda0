// Pairing a manager from the window: the code, its QR code, the command to
// type on the server, a countdown, live progress, and the question whether
// the server shows the same verification string.

import type { PairingPhase, PairingView } from "./api";
import { codeGroups, formatRemaining } from "./countdown";
import { button, h } from "./dom";

/** What the buttons do. */
export interface PairingActions {
  cancel: () => void;
  /** The person's answer: does the server show the same string? */
  confirm: (matches: boolean) => void;
  newCode: () => void;
  close: () => void;
}


/** What the operator types on the server: `pair` then asks for the code. */
export const PROMPT_COMMAND = "nodepair-manager pair";

/** Phases in which the code is still good: it, its command and its countdown show. */
export const LIVE: ReadonlySet<PairingPhase> = new Set<PairingPhase>(["connecting", "waiting", "answered"]);

/** The backend's words for the phase, as a sentence on screen. */
function sentence(step: string): string {
  const text = step.charAt(0).toUpperCase() + step.slice(1);
  return /[.…?!]$/.test(text) ? text : `${text}.`;
}

/** Renders `view` into `root`. */
export function renderPairing(
  root: HTMLElement,
  view: PairingView,
  nowMs: number,
  actions: PairingActions,
): void {
  const remaining = formatRemaining(view.expiresAtMs, nowMs);
  const live = LIVE.has(view.phase);
  const going = live || view.phase === "compare" || view.phase === "confirmed";
  const copy = button("Copy", () => {
    void navigator.clipboard?.writeText(view.code);
  });
  const copyOneLine = button(
    "Copy",
    () => {
      void navigator.clipboard?.writeText(view.command);
    },
    { class: "quiet small", "data-testid": "copy-oneline", "aria-label": "Copy the one-line command" },
  );
  const keep = (nodes: (Node | false)[]): Node[] => nodes.filter((n): n is Node => n !== false);
  const main = keep([
    live &&
      h(
        "div",
        { class: "code-block" },
        h(
          "p",
          { class: "code", "data-testid": "pairing-code", "aria-label": `Pairing code ${view.code}` },
          ...codeGroups(view.code).map((g) => h("span", { class: "group" }, g)),
        ),
        copy,
      ),
    // The prompt form first: a code typed at a prompt stays out of the
    // shell's history and the process list (docs/operator.md).
    live &&
      h(
        "div",
        { class: "how-to" },
        h("p", {}, "On the server, run this and type the code when it asks:"),
        h("code", { class: "command", "data-testid": "pairing-command" }, PROMPT_COMMAND),
        h(
          "p",
          { class: "muted small oneline" },
          "Or as one line, which leaves the code in the shell's history and the process list until it is used: ",
          h("code", { "data-testid": "pairing-oneline" }, view.command),
          " ",
          copyOneLine,
        ),
      ),
    live &&
      h(
        "p",
        { class: "muted", "data-testid": "countdown" },
        remaining === "expired" ? "The code has expired." : `The code expires in ${remaining}.`,
      ),
    h("p", { class: `progress ${view.phase}`, role: "status", "data-testid": "pairing-progress" }, sentence(view.step)),
    view.phase === "compare" &&
      h(
        "div",
        { class: "notice ask", "data-testid": "compare" },
        h("p", {}, `${view.manager ?? "A manager"} answered (key ${view.fingerprint ?? "?"}). Does the server show`),
        h("p", { class: "verification", "data-testid": "verification" }, view.verification ?? ""),
        h(
          "p",
          { class: "muted" },
          "Nothing is kept until you both say it matches. If it differs, or the server shows nothing, someone else may have seen the code.",
        ),
        h(
          "div",
          { class: "actions" },
          button("Matches", () => actions.confirm(true), { class: "primary", "data-testid": "confirm-match" }),
          button("Doesn't match", () => actions.confirm(false), { "data-testid": "confirm-mismatch" }),
        ),
      ),
    view.phase === "confirmed" &&
      h(
        "div",
        { class: "notice" },
        h("p", {}, `You confirmed ${view.manager ?? "the manager"}:`),
        h("p", { class: "verification", "data-testid": "verification" }, view.verification ?? ""),
      ),
    view.phase === "paired" &&
      h(
        "div",
        { class: "notice good" },
        h("p", {}, `Paired with ${view.manager ?? "the manager"}. Both sides confirmed the verification string:`),
        h("p", { class: "verification", "data-testid": "verification" }, view.verification ?? ""),
      ),
    view.phase === "failed" &&
      h("p", { class: "notice bad", role: "alert", "data-testid": "pairing-error" }, view.error ?? "Pairing failed."),
    h(
      "div",
      { class: "actions" },
      going && button("Cancel", actions.cancel),
      !going && view.phase !== "paired" && button("New code", actions.newCode, { class: "primary" }),
      !going && button(view.phase === "paired" ? "Done" : "Close", actions.close, { "data-testid": "pairing-close" }),
    ),
  ]);
  const qr =
    live &&
    h(
      "figure",
      { class: "qr-box" },
      h("img", {
        class: "qr",
        alt: "QR code of the pairing code",
        src: `data:image/svg+xml;utf8,${encodeURIComponent(view.qrSvg)}`,
      }),
      h("figcaption", { class: "muted" }, "The same code, for a phone: scan it to carry the code to an SSH app."),
    );
  const parts: (Node | false)[] = [
    h("h2", { id: "pairing-title" }, "Pair a manager"),
    h("div", { class: "pairing-body" }, h("div", { class: "pairing-main" }, ...main), ...keep([qr])),
  ];
  root.replaceChildren(...parts.filter((p): p is Node => p !== false));
}
