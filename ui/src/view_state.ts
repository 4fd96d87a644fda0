// Which view was open, remembered across restarts of the app.

/** The list of managers, one manager by key, the alerts of all, or the settings. */
export type View = { kind: "list" } | { kind: "manager"; key: string } | { kind: "alerts" } | { kind: "settings" };

const KEY = "nodepair.view";

/** The view last shown, or the list. */
export function loadView(storage: Pick<Storage, "getItem"> = localStorage): View {
  const saved = storage.getItem(KEY);
  if (saved?.startsWith("manager:") && /^[0-9a-f]{64}$/.test(saved.slice(8))) {
    return { kind: "manager", key: saved.slice(8) };
  }
  if (saved === "settings") return { kind: "settings" };
  if (saved === "alerts") return { kind: "alerts" };
  return { kind: "list" };
}

/** Remembers `view` for the next start. */
export function saveView(view: View, storage: Pick<Storage, "setItem"> = localStorage): void {
  storage.setItem(KEY, view.kind === "manager" ? `manager:${view.key}` : view.kind);
}
