// Modal dialogs: confirm unpairing, rename a manager. Keyboard first: the
// first field has focus, Enter confirms, Escape cancels.

import type { ManagerRow } from "./api";
import { h } from "./dom";

/** Shows `dialog` in `overlay` and wires Escape and focus; returns a closer. */
function open(overlay: HTMLElement, dialog: HTMLElement, onCancel: () => void): () => void {
  overlay.replaceChildren(h("div", { class: "backdrop" }, dialog));
  overlay.hidden = false;
  const close = () => {
    overlay.hidden = true;
    overlay.replaceChildren();
  };
  dialog.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      close();
      onCancel();
    }
  });
  (dialog.querySelector("input, button.primary, button.danger") as HTMLElement | null)?.focus();
  return close;
}

function dialogShell(id: string, title: string, ...body: (Node | null)[]): HTMLFormElement {
  return h(
    "form",
    { class: "dialog", role: "dialog", "aria-modal": "true", "aria-labelledby": `${id}-title`, "data-testid": id },
    h("h2", { id: `${id}-title` }, title),
    ...body,
  );
}

/**
 * Asks whether to unpair `manager`; `onConfirm` runs the unpairing and
 * returns an error sentence to show, or null when done.
 */
export function confirmUnpair(
  overlay: HTMLElement,
  manager: ManagerRow,
  onConfirm: () => Promise<string | null>,
): void {
  const error = h("p", { class: "notice bad", role: "alert", hidden: true });
  const cancel = h("button", { type: "button" }, "Cancel");
  const confirm = h("button", { type: "submit", class: "danger", "data-testid": "confirm-unpair" }, "Unpair");
  const form = dialogShell(
    "unpair-dialog",
    `Unpair ${manager.name}?`,
    h(
      "p",
      {},
      `This app forgets ${manager.name} and tells it to forget this app — now if it is online, ` +
        "otherwise when it next connects. To see it here again you pair again with a new code.",
    ),
    error,
    h("div", { class: "actions" }, cancel, confirm),
  );
  const close = open(overlay, form, () => {});
  cancel.addEventListener("click", close);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    confirm.disabled = true;
    void onConfirm().then((problem) => {
      if (problem === null) return close();
      error.textContent = problem;
      error.hidden = false;
      confirm.disabled = false;
    });
  });
}

/** Asks a yes-or-no question with `verb` on the yes button; resolves to the answer. */
export function confirmAction(overlay: HTMLElement, title: string, body: string, verb: string): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = h("button", { type: "button", "data-testid": "confirm-no" }, "Cancel");
    const yes = h("button", { type: "submit", class: "danger", "data-testid": "confirm-yes" }, verb);
    const form = dialogShell("confirm-dialog", title, h("p", {}, body), h("div", { class: "actions" }, cancel, yes));
    const close = open(overlay, form, () => resolve(false));
    cancel.addEventListener("click", () => {
      close();
      resolve(false);
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      close();
      resolve(true);
    });
  });
}

/**
 * Asks for a local name for `manager`; `onSave` stores it (null: its own
 * name again) and returns an error sentence to show, or null when done.
 */
export function rename(
  overlay: HTMLElement,
  manager: ManagerRow,
  onSave: (name: string | null) => Promise<string | null>,
): void {
  const input = h("input", {
    id: "rename-input",
    type: "text",
    value: manager.renamed ? manager.name : "",
    placeholder: manager.ownName,
    maxlength: "64",
    autocomplete: "off",
    "data-testid": "rename-input",
  });
  const error = h("p", { class: "notice bad", role: "alert", hidden: true });
  const cancel = h("button", { type: "button" }, "Cancel");
  const save = h("button", { type: "submit", class: "primary", "data-testid": "rename-save" }, "Save");
  const form = dialogShell(
    "rename-dialog",
    `Rename ${manager.name}`,
    h("label", { for: "rename-input" }, "Name on this computer"),
    input,
    h(
      "p",
      { class: "muted hint" },
      `Only this app shows it. Leave it empty to show the name the manager gives itself, “${manager.ownName}”.`,
    ),
    error,
    h("div", { class: "actions" }, cancel, save),
  );
  const close = open(overlay, form, () => {});
  cancel.addEventListener("click", close);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    save.disabled = true;
    const name = input.value.trim();
    void onSave(name === "" ? null : name).then((problem) => {
      if (problem === null) return close();
      error.textContent = problem;
      error.hidden = false;
      save.disabled = false;
      input.focus();
    });
  });
}
