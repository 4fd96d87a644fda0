// Logs: the sources once, a source's last lines when chosen, and its new
// lines pushed while followed.

import { backend, messageOf, watchLogs } from "../api";
import type { Capability, Context } from "../capability";
import { type LogsState, appendLines, emptyLogs, logsSection } from "../logs";

async function choose(ctx: Context, key: string, source: string): Promise<void> {
  const s = ctx.store.get(key, logs);
  if (s.following && s.source) await backend.logUnfollow(key, s.source).catch(() => undefined);
  Object.assign(s, { source, lines: [], following: false, dropped: 0, leftOut: 0, error: null });
  try {
    const tail = await backend.logTail(key, source, 200);
    s.lines = tail.lines;
    s.leftOut = tail.left_out ?? 0;
  } catch (error) {
    s.error = messageOf(error);
  }
  ctx.store.changed();
}

async function follow(ctx: Context, key: string, on: boolean): Promise<void> {
  const s = ctx.store.get(key, logs);
  if (!s.source) return;
  try {
    if (on) await backend.logFollow(key, s.source);
    else await backend.logUnfollow(key, s.source);
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
  empty: emptyLogs,

  async refresh(ctx, key) {
    const s = ctx.store.get(key, logs);
    if (s.sources) return;
    try {
      s.sources = (await backend.logSources(key)).sources;
    } catch (error) {
      s.error = messageOf(error);
    }
    ctx.store.changed();
  },

  async watch(ctx) {
    await watchLogs((event) => {
      if (!ctx.store.has(event.key, logs)) return;
      const s = ctx.store.get(event.key, logs);
      if (!s.following || s.source !== event.lines.source) return;
      s.lines = appendLines(s.lines, event.lines.lines);
      s.dropped += event.lines.dropped_bytes;
      if (ctx.store.showing(event.key)) ctx.store.changed();
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
    });
  },
};
