// Adding a computer from the window: on the new computer, the code to type
// on the other one; on the one already paired, the field to type it in;
// on both, live progress, the verification string to compare, and what
// each manager did.

import type { ComputerView, CutOffView } from "./api";
import { codeGroups, formatRemaining } from "./countdown";
import { button, h } from "./dom";
import { LIVE } from "./pairing";

/** What the card's buttons do. */
export interface ComputerActions {
  /** Sends the code typed; resolves to what is wrong with it, or null. */
  submit: (code: string) => Promise<string | null>;
  confirm: (matches: boolean) => void;
  cancel: () => void;
  /** A new code (joining) or a new try (adding). */
  again: () => void;
  close: () => void;
}

/** The terminal's commands for the same two steps. */
export const JOIN_COMMAND = "nodepair join";
export const ADD_COMMAND = "nodepair add-computer";

function sentence(step: string): string {
  const text = step.charAt(0).toUpperCase() + step.slice(1);
  return /[.…?!]$/.test(text) ? text : `${text}.`;
}

function title(joining: boolean): HTMLElement {
  return h("h2", { id: "computer-title" }, joining ? "Join from another computer" : "Add a computer");
}

/** The form where the code the new computer shows is typed. */
export function renderCodeEntry(root: HTMLElement, actions: ComputerActions): void {
  const input = h("input", {
    id: "computer-code",
    "data-testid": "computer-code-input",
    autocomplete: "off",
    spellcheck: "false",
    autocapitalize: "characters",
    placeholder: "7KQ2-M9XD-4RTA",
    "aria-describedby": "computer-code-help",
  });
  const error = h("p", { class: "notice bad", role: "alert", "data-testid": "computer-code-error", hidden: true });
  const start = h("button", { type: "submit", class: "primary", "data-testid": "computer-code-submit" }, "Add");
  const form = h(
    "form",
    { class: "settings-form", "data-testid": "computer-code-form" },
    h(
      "p",
      { id: "computer-code-help" },
      "On the new computer, open NodePair's Settings and choose “Join from another computer” (or run ",
      h("code", {}, JOIN_COMMAND),
      " there). Type the code it shows:",
    ),
    h("label", { for: "computer-code" }, "The new computer's code"),
    input,
    h(
      "p",
      { class: "muted" },
      "This computer then asks each of your managers that accept introductions to admit the new one, with at most what this computer may use there.",
    ),
    error,
    h("div", { class: "actions" }, button("Cancel", actions.close, { "data-testid": "computer-close" }), start),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const code = input.value.trim();
    if (code === "") {
      error.textContent = "Type the code the new computer shows.";
      error.hidden = false;
      return;
    }
    start.disabled = true;
    error.hidden = true;
    void actions.submit(code).then((problem) => {
      start.disabled = false;
      if (problem === null) return;
      error.textContent = problem;
      error.hidden = false;
    });
  });
  root.replaceChildren(title(false), form);
  input.focus();
}

/** Whether some manager admitted the new computer. */
function anyIntroduced(view: ComputerView): boolean {
  return view.managers.some((m) => m.outcome === "introduced");
}

/** Renders `view` into `root`. */
export function renderComputer(root: HTMLElement, view: ComputerView, nowMs: number, actions: ComputerActions): void {
  const live = LIVE.has(view.phase);
  const going = live || view.phase === "compare" || view.phase === "confirmed";
  const other = view.joining ? "the other computer" : "the new computer";
  const keep = (nodes: (Node | false | null)[]): Node[] => nodes.filter((n): n is Node => n !== false && n !== null);
  const remaining = formatRemaining(view.expiresAtMs, nowMs);
  const parts = keep([
    title(view.joining),
    live &&
      view.joining &&
      view.code !== null &&
      h(
        "div",
        { class: "code-block" },
        h(
          "p",
          { class: "code", "data-testid": "join-code", "aria-label": `Code ${view.code}` },
          ...codeGroups(view.code).map((g) => h("span", { class: "group" }, g)),
        ),
      ),
    live &&
      view.joining &&
      h(
        "div",
        { class: "how-to" },
        h("p", {}, "On a computer already paired with your managers, open NodePair's Settings, choose “Add a computer” and type this code. Or there, run this and type the code when it asks:"),
        h("code", { class: "command", "data-testid": "join-command" }, ADD_COMMAND),
      ),
    live &&
      view.joining &&
      h("p", { class: "muted", "data-testid": "computer-countdown" }, remaining === "expired" ? "The code has expired." : `The code expires in ${remaining}.`),
    h("p", { class: `progress ${view.phase}`, role: "status", "data-testid": "computer-progress" }, sentence(view.step)),
    view.phase === "compare" &&
      h(
        "div",
        { class: "notice ask", "data-testid": "computer-compare" },
        h("p", {}, `${view.computer ?? "A computer"} answered (key ${view.fingerprint ?? "?"}). Does ${other} show`),
        h("p", { class: "verification", "data-testid": "computer-verification" }, view.verification ?? ""),
        h(
          "p",
          { class: "muted" },
          view.joining
            ? "Nothing is kept until you say it matches on both computers. If it differs, someone else may have seen the code."
            : "No manager is asked until you say it matches on both computers. If it differs, someone else may have seen the code: a computer you did not mean to add would reach your managers.",
        ),
        h(
          "div",
          { class: "actions" },
          button("Matches", () => actions.confirm(true), { class: "primary", "data-testid": "computer-match" }),
          button("Doesn't match", () => actions.confirm(false), { "data-testid": "computer-mismatch" }),
        ),
      ),
    (view.phase === "confirmed" || view.phase === "introducing") &&
      view.verification !== null &&
      h("p", { class: "verification", "data-testid": "computer-verification" }, view.verification),
    view.summary !== null &&
      h(
        "p",
        { class: anyIntroduced(view) ? "notice good" : "notice bad", role: anyIntroduced(view) ? "status" : "alert", "data-testid": "computer-summary" },
        view.summary,
      ),
    view.managers.length > 0 &&
      h(
        "ul",
        { class: "outcomes", "data-testid": "computer-managers" },
        ...view.managers.map((m) =>
          h(
            "li",
            { "data-outcome": m.outcome, "data-name": m.name },
            h("span", { class: `badge ${m.outcome === "introduced" ? "good" : m.outcome === "refused" ? "bad" : "busy"}` }, outcomeWord(m.outcome)),
            " ",
            h("strong", {}, m.name),
            h("span", { class: "muted" }, ` (${m.fingerprint})`),
            h("span", {}, `: ${m.detail}`),
          ),
        ),
      ),
    view.phase === "failed" && h("p", { class: "notice bad", role: "alert", "data-testid": "computer-error" }, view.error ?? "Adding the computer failed."),
    h(
      "div",
      { class: "actions" },
      ...keep([
        going && button("Cancel", actions.cancel, { "data-testid": "computer-cancel" }),
        (view.phase === "failed" || view.phase === "cancelled") &&
          button(view.joining ? "New code" : "Try again", actions.again, { class: "primary" }),
        // The new computer may close the card while it waits for the
        // managers (they still arrive, and show in the list); the one
        // asking them waits for their answers, at most seconds.
        !going && (view.phase !== "introducing" || view.joining) && button(view.phase === "introduced" ? "Done" : "Close", actions.close, { "data-testid": "computer-close" }),
      ]),
    ),
  ]);
  root.replaceChildren(...parts);
}

function outcomeWord(outcome: ComputerView["managers"][number]["outcome"]): string {
  switch (outcome) {
    case "introduced":
      return "admitted";
    case "refused":
      return "refused";
    case "unreachable":
      return "not reached";
  }
}

/** Each cut-off outcome's badge: its colour and its word. */
const CUT_OFF_BADGE: Record<string, [string, string]> = {
  cut_off: ["good", "cut off"],
  pending: ["busy", "not reached"],
  not_there: ["idle", "not there"],
  refused: ["bad", "refused"],
  failed: ["bad", "failed"],
};

/** Fills the cut-off panel with what a cut-off did (or why it could not be asked). */
export function showCutOff(panel: HTMLElement, view: CutOffView | null, error: string | null): void {
  if (!view) {
    panel.replaceChildren(h("p", { class: "notice bad", role: "alert" }, error ?? ""));
    return;
  }
  // Cut off somewhere now: done. Only kept for managers offline: nothing
  // happened yet. Neither: nothing will.
  const style = view.cutOff > 0 ? "notice good" : view.pending > 0 ? "notice" : "notice bad";
  panel.replaceChildren(
    h("p", { class: style, role: view.cutOff + view.pending > 0 ? "status" : "alert", "data-testid": "cut-off-summary" }, view.summary),
    ...(view.managers.length > 0
      ? [
          h(
            "ul",
            { class: "outcomes", "data-testid": "cut-off-managers" },
            ...view.managers.map((m) =>
              h(
                "li",
                { "data-outcome": m.outcome, "data-name": m.name },
                h("span", { class: `badge ${CUT_OFF_BADGE[m.outcome]?.[0] ?? "idle"}` }, CUT_OFF_BADGE[m.outcome]?.[1] ?? m.outcome),
                " ",
                h("strong", {}, m.name),
                h("span", { class: "muted" }, ` (${m.fingerprint})`),
                h("span", {}, `: ${m.detail}`),
              ),
            ),
          ),
        ]
      : []),
  );
}
