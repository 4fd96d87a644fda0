// How long a pairing code has left, as people read it.

/** "9:58" (minutes:seconds left), or "expired". */
export function formatRemaining(expiresAtMs: number, nowMs: number): string {
  const left = Math.ceil((expiresAtMs - nowMs) / 1000);
  if (left <= 0) return "expired";
  const minutes = Math.floor(left / 60);
  const seconds = left % 60;
  return `${minutes}:${seconds.toString().padStart(2, "0")}`;
}

/** The code's groups, for showing it large: "7KQ2-M9XD-4RTA" → ["7KQ2", "M9XD", "4RTA"]. */
export function codeGroups(code: string): string[] {
  return code.split("-").filter((g) => g.length > 0);
}
