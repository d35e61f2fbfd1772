// Where the gateway keeps what the engines do not: stored responses (their input and output items), chosen by
// --store. `sqlite:<path>` is the embedded default (node:sqlite; several processes of one host share the
// file), `memory:` keeps nothing past the process. Every entry has an owner (a hash of the credential that
// made it) and an expiry (--store-ttl, 30 days by default, as Azure keeps stored responses).
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createMemoryStore } from "./memory-store.ts";
import { createSqliteStore } from "./sqlite-store.ts";

export interface StoredResponse {
  id: string;
  owner: string;
  /** The Response object as the client got it. */
  response: Record<string, unknown>;
  /** The input items of the turn, as the engine was sent them (earlier turns included). */
  input: unknown[];
  createdAt: number;
}

export interface ResponseStore {
  readonly kind: string;
  put(entry: StoredResponse, ttlMs: number): void | Promise<void>;
  /** Undefined when absent, expired, or owned by another. */
  get(id: string, owner: string): StoredResponse | undefined | Promise<StoredResponse | undefined>;
  /** Whether it was there (and the owner's). */
  delete(id: string, owner: string): boolean | Promise<boolean>;
  /** The latest stored output item with this id, for `item_reference` inputs. */
  item(itemId: string, owner: string): unknown | Promise<unknown>;
  close(): void | Promise<void>;
}

export type StoreSpec = { kind: "sqlite"; path: string } | { kind: "memory" };

/** Opens the store; a store that cannot be opened stops start-up with one line naming it. */
export function openStore(spec: StoreSpec): ResponseStore {
  if (spec.kind === "memory") return createMemoryStore();
  try {
    mkdirSync(dirname(spec.path), { recursive: true });
    return createSqliteStore(spec.path);
  } catch (err) {
    throw new Error(`--store sqlite:${spec.path}: cannot open it (${(err as Error).message})`);
  }
}
