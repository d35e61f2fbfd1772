// Opens the store --store names, and makes its run-time failures the 503 a stateful call answers.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { GatewayError } from "../errors.ts";
import { createRedisStore } from "./redis-store.ts";
import { createSqliteStore } from "./sqlite-store.ts";
import type { StateStore } from "./store.ts";

export type StoreSpec = { kind: "sqlite"; path: string } | { kind: "memory" } | { kind: "redis"; url: string };

/** The URL as logs may show it: no password. */
export const redactUrl = (url: string): string => url.replace(/\/\/[^@/]*@/, "//***@");

/** Opens the store; a store that cannot be opened stops start-up with one line naming it (Redis: `ready`).
 * At run time a failing store is a 503 for the call that needed it (`failed` hears why), never a wrong
 * answer: the rest of the gateway is served. */
export function openStore(spec: StoreSpec, failed: (err: unknown) => void): StateStore {
  if (spec.kind === "memory") return guarded(createSqliteStore(":memory:"), failed);
  if (spec.kind === "redis") return guarded(createRedisStore(spec.url), failed);
  try {
    mkdirSync(dirname(spec.path), { recursive: true });
    return guarded(createSqliteStore(spec.path), failed);
  } catch (err) {
    throw new Error(`--store sqlite:${spec.path}: cannot open it (${(err as Error).message})`);
  }
}

const unavailable = (kind: string, cause: unknown) =>
  new GatewayError(
    "ServiceUnavailable",
    `The gateway's state store (${kind}) is unavailable; retry shortly. Calls that keep no state (store: false) are still served.`,
    { cause },
  );

/** Every call's failure (thrown or rejected) as the 503 above. */
function guarded(store: StateStore, failed: (err: unknown) => void): StateStore {
  const wrapped = { ...store } as Record<string, unknown>;
  for (const [name, method] of Object.entries(store)) {
    if (typeof method !== "function" || name === "ready" || name === "close") continue;
    wrapped[name] = (...args: unknown[]) => {
      const fail = (err: unknown): never => {
        failed(err);
        throw unavailable(store.kind, err);
      };
      try {
        const result = (method as (...a: unknown[]) => unknown)(...args);
        return result instanceof Promise ? result.catch(fail) : result;
      } catch (err) {
        return fail(err);
      }
    };
  }
  return wrapped as unknown as StateStore;
}
