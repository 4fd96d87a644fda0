// The vault passphrase dialog: shown when the OS keyring cannot hold NodePair's
// keys and nothing else (a passphrase file, an environment variable) gives one.

import type { UnlockView } from "./api";
import { h } from "./dom";

/** Shortest passphrase accepted for a new vault. */
export const MIN_NEW_PASSPHRASE = 8;

/** What is wrong with what was typed, or null when it can be tried. */
export function checkPassphrase(first: string, second: string, creating: boolean): string | null {
  if (first.length === 0) return "Enter the passphrase.";
  if (!creating) return null;
  if (first.length < MIN_NEW_PASSPHRASE) {
    return `Use at least ${MIN_NEW_PASSPHRASE} characters: this passphrase is all that protects the keys in the file.`;
  }
  if (first !== second) return "The two passphrases differ. Type the same one twice.";
  return null;
}

/** Renders the dialog into `root`; `onSubmit` tries a passphrase. */
export function renderUnlock(root: HTMLElement, view: UnlockView, onSubmit: (passphrase: string) => void): void {
  const field = (id: string, label: string) => [
    h("label", { for: id }, label),
    h("input", {
      id,
      type: "password",
      autocomplete: view.creating ? "new-password" : "current-password",
      "data-testid": id,
    }),
  ];
  const [firstLabel, first] = field("passphrase", view.creating ? "New passphrase" : "Passphrase");
  const [secondLabel, second] = view.creating ? field("passphrase-again", "The same again") : [null, null];
  const error = h("p", { class: "notice bad", role: "alert", "data-testid": "unlock-error", hidden: !view.error }, view.error ?? "");
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "unlock-submit" }, view.creating ? "Protect the keys" : "Unlock");
  const form = h(
    "form",
    { class: "unlock", "aria-labelledby": "unlock-title", "data-testid": "unlock-form" },
    h("h2", { id: "unlock-title" }, view.creating ? "Choose a passphrase for NodePair's keys" : "Unlock NodePair"),
    h("p", {}, view.why),
    h(
      "p",
      { class: "muted" },
      view.creating
        ? "The passphrase encrypts the file. NodePair cannot recover it: if you lose it, you pair your managers again."
        : "Enter the passphrase you chose when NodePair first stored its keys.",
    ),
    firstLabel ?? null,
    first ?? null,
    secondLabel ?? null,
    second ?? null,
    error,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const a = (first as HTMLInputElement).value;
    const b = second ? (second as HTMLInputElement).value : "";
    const problem = checkPassphrase(a, b, view.creating);
    if (problem) {
      error.textContent = problem;
      error.hidden = false;
      return;
    }
    submit.disabled = true;
    submit.textContent = view.creating ? "Creating…" : "Unlocking…";
    onSubmit(a);
  });
  root.replaceChildren(form);
  (first as HTMLInputElement).focus();
}
