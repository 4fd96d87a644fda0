// Every capability the window knows, in the order a manager's page shows them.

import type { Capability } from "../capability";
import { ethereum } from "./ethereum";
import { host } from "./host";
import { logs } from "./logs";
import { services } from "./services";

export const CAPABILITIES: readonly Capability<unknown>[] = [ethereum, services, host, logs];
