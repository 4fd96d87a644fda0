// Host health: the kept history once, then pushes at the rate the person
// chose while the page is open; followed again when the pushes stop.

import { type HostHealth, backend, messageOf, watchHost } from "../api";
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
    const started = await backend.hostFollow(key, rate());
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
  empty: () => ({ health: null, samples: [], error: null, followMs: null }),

  async refresh(ctx, key) {
    const known = ctx.store.get(key, host);
    // Pushes stop when the session drops; follow again when none came for
    // three of their intervals (or there never was a follow).
    const silentMs = ctx.now() - (known.health?.receivedAtMs ?? 0);
    if (known.followMs && silentMs <= 3 * known.followMs + 2000) return;
    try {
      const answer: HostHealth = await backend.health(key, newestSampleMs(known.samples));
      ctx.store.set(key, host, {
        ...known,
        health: answer,
        samples: mergeSamples(known.samples, answer.samples),
        historyIntervalMs: answer.sampleIntervalMs,
        error: null,
      });
    } catch (error) {
      ctx.store.set(key, host, { ...known, error: messageOf(error) });
    }
    await follow(ctx, key);
  },

  async leave(ctx, key) {
    const left = ctx.store.get(key, host);
    if (!left.followMs) return;
    ctx.store.set(key, host, { ...left, followMs: null });
    await backend.hostUnfollow(key).catch(() => undefined);
  },

  async watch(ctx) {
    await watchHost((event) => {
      if (!ctx.store.has(event.key, host)) return;
      const known = ctx.store.get(event.key, host);
      if (!known.followMs) return;
      ctx.store.set(event.key, host, {
        ...known,
        health: event.health,
        samples: mergeSamples(known.samples, event.health.samples),
        error: null,
      });
      if (ctx.store.showing(event.key)) ctx.store.changed();
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
