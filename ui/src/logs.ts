// A manager's logs: pick a source, see its last lines, follow it live
// (under the manager's byte budget, drops counted), and search.

import type { SourceKind } from "./api";
import { h } from "./dom";

/** How many lines the viewer keeps. */
export const KEPT_LINES = 2000;

/** What the window knows of one manager's logs. */
export interface LogsState {
  sources: string[] | null;
  /** What each source is, in the same order (empty from an older manager). */
  kinds: SourceKind[];
  source: string | null;
  lines: string[];
  following: boolean;
  /** Bytes the manager left out since following started (over budget). */
  dropped: number;
  /** Older lines of the tail that did not fit in one answer. */
  leftOut: number;
  query: string;
  /** The manager's answer to a search of the source, while shown. */
  found: ServerSearch | null;
  /** A search on the server is under way. */
  searching: boolean;
  error: string | null;
}

/** What a search on the server found. */
export interface ServerSearch {
  pattern: string;
  /** The matching lines, oldest first (at most a page). */
  lines: string[];
  /** How many of the source's newest lines the manager searched; null
   * from a manager that cannot search (it sent a plain tail). */
  searched: number | null;
  /** Older matches that did not fit in one answer. */
  leftOut: number;
}

export function emptyLogs(): LogsState {
  return {
    sources: null,
    kinds: [],
    source: null,
    lines: [],
    following: false,
    dropped: 0,
    leftOut: 0,
    query: "",
    found: null,
    searching: false,
    error: null,
  };
}

/** `line` as text nodes, every occurrence of `query` (ignoring case) in a `<mark>`. */
export function highlighted(line: string, query: string): Node[] {
  const q = query.trim().toLowerCase();
  if (q === "") return [document.createTextNode(line)];
  const lower = line.toLowerCase();
  const nodes: Node[] = [];
  let at = 0;
  for (let hit = lower.indexOf(q); hit !== -1; hit = lower.indexOf(q, hit + q.length)) {
    if (hit > at) nodes.push(document.createTextNode(line.slice(at, hit)));
    nodes.push(h("mark", {}, line.slice(hit, hit + q.length)));
    at = hit + q.length;
  }
  if (at < line.length) nodes.push(document.createTextNode(line.slice(at)));
  return nodes;
}

/** Lines as children of the viewer, one per line, matches marked. */
function lineNodes(lines: string[], query: string): Node[] {
  return lines.flatMap((line, i) => [...(i > 0 ? [document.createTextNode("\n")] : []), ...highlighted(line, query)]);
}

/** "50,000" as the manager's bound is written. */
const count = (n: number): string => n.toLocaleString("en-US");

/** What the line under the viewer says: what is shown, out of what. */
export function shownLabel(state: LogsState, shown: number): string {
  if (!state.source) return "";
  const found = state.found;
  if (found) {
    if (found.searched === null) return "This manager cannot search on the server (an older version): showing its last lines.";
    const older = found.leftOut > 0 ? `; ${count(found.leftOut)} older matches did not fit in one answer` : "";
    return `On the server: ${count(found.lines.length)} ${found.lines.length === 1 ? "line matches" : "lines match"} “${found.pattern}” in its newest ${count(found.searched)} lines${older}.`;
  }
  if (state.query.trim() === "") return `${count(state.lines.length)} lines (the last ${count(KEPT_LINES)} are kept here)`;
  return `${count(shown)} of the ${count(state.lines.length)} lines here match; search the server for older ones.`;
}

/** `known` then `fresh`, keeping the last `max`. */
export function appendLines(known: string[], fresh: string[], max = KEPT_LINES): string[] {
  const all = known.concat(fresh);
  return all.length > max ? all.slice(all.length - max) : all;
}

/** The lines containing `query`, ignoring case; all when it is blank. */
export function filterLines(lines: string[], query: string): string[] {
  const q = query.trim().toLowerCase();
  return q === "" ? lines : lines.filter((l) => l.toLowerCase().includes(q));
}

/** What the `i`th source is; from a manager that does not say, a path
 * is a file and any other name a unit. */
export function sourceKind(state: LogsState, i: number): SourceKind {
  return state.kinds[i] ?? (state.sources?.[i]?.startsWith("/") ? "file" : "unit");
}

const KIND_LABEL: Record<SourceKind, string> = { unit: "Units (journal)", container: "Containers", file: "Files" };

/** The source picker's options, grouped by kind. */
function sourceOptions(state: LogsState): HTMLElement[] {
  const sources = state.sources ?? [];
  return (["unit", "container", "file"] as SourceKind[]).flatMap((kind) => {
    const names = sources.filter((_, i) => sourceKind(state, i) === kind);
    if (names.length === 0) return [];
    return [h("optgroup", { label: KIND_LABEL[kind] }, ...names.map((s) => h("option", { value: s, selected: s === state.source }, s)))];
  });
}

/** What the viewer's controls do. */
export interface LogsActions {
  choose: (source: string) => void;
  follow: (on: boolean) => void;
  search: (query: string) => void;
  /** Asks the manager to search its source for the query. */
  searchServer: () => void;
  /** Back from a server search to the lines received. */
  clearFound: () => void;
}

/** The logs section of a manager's view. */
export function logsSection(state: LogsState, actions: LogsActions): HTMLElement {
  const section = h("section", { class: "host logs", "aria-labelledby": "logs-title", "data-testid": "logs" });
  const title = h("h3", { id: "logs-title" }, "Logs");
  if (!state.sources) {
    section.append(title, h("p", { class: state.error ? "notice bad" : "muted", role: "status" }, state.error ?? "Asking…"));
    return section;
  }
  if (state.sources.length === 0) {
    section.append(title, h("p", { class: "muted" }, "The operator shares no logs ([logs] in the manager's configuration)."));
    return section;
  }
  const select = h(
    "select",
    { "aria-label": "Log", "data-testid": "log-source" },
    h("option", { value: "", disabled: true, selected: state.source === null }, "Choose a log…"),
    ...sourceOptions(state),
  );
  select.addEventListener("change", () => actions.choose(select.value));
  const follow = h(
    "button",
    { type: "button", class: state.following ? "primary" : "", disabled: state.source === null, "data-testid": "log-follow", "aria-pressed": state.following ? "true" : "false" },
    state.following ? "Following" : "Follow",
  );
  follow.addEventListener("click", () => actions.follow(!state.following));
  const search = h("input", { type: "search", placeholder: "Search", value: state.query, "aria-label": "Search the log", "data-testid": "log-search" });
  search.addEventListener("input", () => actions.search(search.value));
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && search.value.trim() !== "") actions.searchServer();
  });
  const onServer = h(
    "button",
    {
      type: "button",
      disabled: state.source === null || state.query.trim() === "" || state.searching,
      title: "Search the source's newest 50,000 lines on the server, not only the lines here",
      "data-testid": "log-search-server",
    },
    state.searching ? "Searching…" : "Search the server",
  );
  onServer.addEventListener("click", () => actions.searchServer());
  const back = state.found ? h("button", { type: "button", class: "quiet", "data-testid": "log-search-clear" }, "Back to the log") : null;
  back?.addEventListener("click", () => actions.clearFound());
  const shown = state.found ? state.found.lines : filterLines(state.lines, state.query);
  const mark = state.found ? state.found.pattern : state.query;
  const text = h("pre", { class: "log-text", "data-testid": "log-lines", tabindex: "0" }, ...lineNodes(shown, mark));
  section.append(
    h(
      "div",
      { class: "section-header" },
      title,
      state.dropped > 0
        ? h("span", { class: "stale", "data-testid": "log-dropped" }, `${state.dropped} bytes left out: the log wrote faster than the manager's budget`)
        : null,
      state.leftOut > 0
        ? h("span", { class: "muted", "data-testid": "log-left-out" }, `${state.leftOut} older lines did not fit in one answer`)
        : null,
    ),
    h("div", { class: "log-controls" }, select, follow, search, onServer, back),
    ...(state.error ? [h("p", { class: "notice bad", role: "alert", "data-testid": "log-error" }, state.error)] : []),
    text,
    h("p", { class: "muted small", "data-testid": "log-count" }, shownLabel(state, shown.length)),
  );
  queueMicrotask(() => {
    if (state.following && !state.found) text.scrollTop = text.scrollHeight;
  });
  return section;
}
