// Every capability the window knows, in the order a manager's page shows
// them: each module of this folder that exports a Capability is one, found
// at build time (a new capability is a new file here, nothing to list).

import type { Capability } from "../capability";

const modules = import.meta.glob<Record<string, unknown>>(["./*.ts", "!./*.test.ts"], { eager: true });

function isCapability(value: unknown): value is Capability<unknown> {
  return typeof value === "object" && value !== null && "capability" in value && "section" in value && "order" in value;
}

export const CAPABILITIES: readonly Capability<unknown>[] = Object.values(modules)
  .flatMap((exports) => Object.values(exports).filter(isCapability))
  .sort((a, b) => a.order - b.order);
