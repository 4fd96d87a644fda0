// Numbers from a manager's host, as people read them.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** "512 B", "1.5 GiB", "931 GiB", "2.0 TiB". */
export function bytesLabel(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${UNITS[unit]}`;
}

/** "42 %" for a share `part / whole`; "–" when the whole is unknown (0). */
export function percentLabel(part: number, whole: number): string {
  if (whole <= 0) return "–";
  return `${Math.round((100 * part) / whole)} %`;
}

/** "45 s", "12 min", "5 h 3 min", "3 d 4 h". */
export function durationLabel(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
  const days = Math.floor(hours / 24);
  return hours % 24 === 0 ? `${days} d` : `${days} d ${hours % 24} h`;
}

/** "0.52 · 0.61 · 0.70" (1, 5 and 15 minutes). */
export function loadLabel(load: number[]): string {
  return load.map((l) => l.toFixed(2)).join(" · ");
}

/** The tone of a usage bar: calm below 75 %, warning below 90 %, bad above. */
export function usageTone(part: number, whole: number): "good" | "busy" | "bad" {
  const share = whole > 0 ? part / whole : 0;
  if (share >= 0.9) return "bad";
  if (share >= 0.75) return "busy";
  return "good";
}
