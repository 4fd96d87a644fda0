// Logs: the sources once, a source's last lines when chosen, and its new
// lines pushed while followed.

import { ask, messageOf, watchStream } from "../api";
import type { Capability, Context } from "../capability";
import { type LogsState, appendLines, emptyLogs, logsSection } from "../logs";

async function choose(ctx: Context, key: string, source: string): Promise<void> {
  const s = ctx.store.get(key, logs);
  if (s.following && s.source) await ask(key, "logs.unfollow", { source: s.source }).catch(() => undefined);
  Object.assign(s, { source, lines: [], following: false, dropped: 0, leftOut: 0, found: null, error: null });
  try {
    const tail = await ask(key, "logs.tail", { source, lines: 200, skip: 0 });
    s.lines = tail.lines;
    s.leftOut = tail.left_out ?? 0;
  } catch (error) {
    s.error = messageOf(error);
  }
  ctx.store.changed();
}

/** The manager searches the source's newest lines for the query: a page of matches, newest last. */
async function searchServer(ctx: Context, key: string): Promise<void> {
  const s = ctx.store.get(key, logs);
  const pattern = s.query.trim();
  if (!s.source || pattern === "") return;
  s.searching = true;
  s.error = null;
  ctx.store.changed();
  try {
    const answer = await ask(key, "logs.tail", { source: s.source, lines: 1000, skip: 0, pattern });
    s.found = { pattern, lines: answer.lines, searched: answer.searched ?? null, leftOut: answer.left_out ?? 0 };
  } catch (error) {
    s.error = messageOf(error);
  }
  s.searching = false;
  ctx.store.changed();
}

async function follow(ctx: Context, key: string, on: boolean): Promise<void> {
  const s = ctx.store.get(key, logs);
  if (!s.source) return;
  try {
    if (on) await ask(key, "logs.follow", { source: s.source });
    else await ask(key, "logs.unfollow", { source: s.source });
    s.following = on;
    s.error = null;
  } catch (error) {
    s.error = messageOf(error);
  }
  ctx.store.changed();
}

export const logs: Capability<LogsState> = {
  name: "logs",
  capability: "logs",
  order: 40,
  empty: emptyLogs,

  async refresh(ctx, key) {
    const s = ctx.store.get(key, logs);
    if (s.sources) return;
    try {
      const answer = await ask(key, "logs.sources", {});
      s.kinds = answer.kinds ?? [];
      s.sources = answer.sources;
    } catch (error) {
      s.error = messageOf(error);
    }
    ctx.store.changed();
  },

  async watch(ctx) {
    await watchStream("logs", (key, _stream, lines) => {
      if (!ctx.store.has(key, logs)) return;
      const s = ctx.store.get(key, logs);
      if (!s.following || s.source !== lines.source) return;
      s.lines = appendLines(s.lines, lines.lines);
      s.dropped += lines.dropped_bytes;
      if (ctx.store.showing(key)) ctx.store.changed();
    });
  },

  section(ctx, manager) {
    if (!manager.capabilities.includes("logs") || !ctx.store.has(manager.key, logs)) return null;
    const key = manager.key;
    return logsSection(ctx.store.get(key, logs), {
      choose: (source) => void choose(ctx, key, source),
      follow: (on) => void follow(ctx, key, on),
      search: (query) => {
        ctx.store.get(key, logs).query = query;
        ctx.store.changed();
      },
      searchServer: () => void searchServer(ctx, key),
      clearFound: () => {
        ctx.store.get(key, logs).found = null;
        ctx.store.changed();
      },
    });
  },
};
