// Host health: the kept history, then pushes at the rate the person chose
// while the page is open. The backend asks for the pushes again when the
// manager comes back after a drop; the history fills the gap.

import { ask, messageOf, watchStream } from "../api";
import type { Capability, Context } from "../capability";
import { mergeSamples, newestSampleMs } from "../history";
import { HOST_RATES_MS, type HealthState, hostSection } from "../host_view";

const RATE_KEY = "nodepair.hostRateMs";

/** The host rate the person chose last, ms (default every 2 s). */
function loadHostRate(): number {
  const saved = Number(localStorage.getItem(RATE_KEY));
  return HOST_RATES_MS.includes(saved) ? saved : 2000;
}

let rateMs: number | null = null;
const rate = (): number => (rateMs ??= loadHostRate());

async function follow(ctx: Context, key: string): Promise<void> {
  try {
    const started = await ask(key, "host.follow", { interval_ms: rate() });
    // An earlier failure stays shown until the first push replaces it.
    ctx.store.set(key, host, { ...ctx.store.get(key, host), followMs: started.interval_ms });
  } catch (error) {
    ctx.store.set(key, host, { ...ctx.store.get(key, host), followMs: null, error: messageOf(error) });
  }
  ctx.store.changed();
}

export const host: Capability<HealthState> = {
  name: "host",
  capability: "host",
  order: 30,
  empty: () => ({ health: null, receivedAtMs: 0, samples: [], error: null, followMs: null }),

  async refresh(ctx, key) {
    const known = ctx.store.get(key, host);
    // While pushes come, nothing to ask. After a silence (the session
    // dropped: the backend follows again once it is back) the kept history
    // fills the gap in the charts.
    const silentMs = ctx.now() - known.receivedAtMs;
    if (known.followMs && silentMs <= 3 * known.followMs + 2000) return;
    try {
      const answer = await ask(key, "host.health", { samples_after_ms: newestSampleMs(known.samples) });
      ctx.store.set(key, host, {
        ...known,
        health: answer,
        receivedAtMs: ctx.now(),
        samples: mergeSamples(known.samples, answer.samples),
        historyIntervalMs: answer.sample_interval_ms,
        error: null,
      });
    } catch (error) {
      ctx.store.set(key, host, { ...known, error: messageOf(error) });
    }
    if (!ctx.store.get(key, host).followMs) await follow(ctx, key);
  },

  async leave(ctx, key) {
    const left = ctx.store.get(key, host);
    if (!left.followMs) return;
    ctx.store.set(key, host, { ...left, followMs: null });
    await ask(key, "host.unfollow", {}).catch(() => undefined);
  },

  async watch(ctx) {
    await watchStream("host", (key, _stream, health) => {
      if (!ctx.store.has(key, host)) return;
      const known = ctx.store.get(key, host);
      if (!known.followMs) return;
      ctx.store.set(key, host, {
        ...known,
        health,
        receivedAtMs: ctx.now(),
        samples: mergeSamples(known.samples, health.samples),
        error: null,
      });
      if (ctx.store.showing(key)) ctx.store.changed();
    });
  },

  section(ctx, manager) {
    const choose = (ms: number): void => {
      rateMs = ms;
      localStorage.setItem(RATE_KEY, String(ms));
      void follow(ctx, manager.key);
    };
    return hostSection(manager, ctx.store.get(manager.key, host), ctx.now(), choose);
  },
};
