// What the app says about itself, read from the Tauri backend.

import { getName, getVersion } from "@tauri-apps/api/app";

/** The product's name and version, as the binary was built. */
export interface AppInfo {
  name: string;
  version: string;
}

/** Asks the backend for the name and version in its configuration. */
export async function loadAppInfo(): Promise<AppInfo> {
  const [name, version] = await Promise.all([getName(), getVersion()]);
  return { name, version };
}
