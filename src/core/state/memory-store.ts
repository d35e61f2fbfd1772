// `--store memory:`: entries live as long as the process (tests, a single short-lived gateway).
import type { ResponseStore, StoredResponse } from "./store.ts";

export function createMemoryStore(): ResponseStore {
  const entries = new Map<string, { entry: StoredResponse; expiresAt: number }>();
  const live = (id: string, owner: string) => {
    const found = entries.get(id);
    if (!found || found.entry.owner !== owner) return undefined;
    if (found.expiresAt <= Date.now()) {
      entries.delete(id);
      return undefined;
    }
    return found.entry;
  };
  return {
    kind: "memory",
    put: (entry, ttlMs) => void entries.set(entry.id, { entry: structuredClone(entry), expiresAt: Date.now() + ttlMs }),
    get: (id, owner) => {
      const entry = live(id, owner);
      return entry && structuredClone(entry);
    },
    delete: (id, owner) => (live(id, owner) ? entries.delete(id) : false),
    item(itemId, owner) {
      let latest: { item: unknown; at: number } | undefined;
      for (const { entry } of entries.values()) {
        if (entry.owner !== owner || !live(entry.id, owner)) continue;
        for (const item of (entry.response.output as Array<{ id?: unknown }> | undefined) ?? []) {
          if (item?.id === itemId && (!latest || entry.createdAt >= latest.at)) latest = { item, at: entry.createdAt };
        }
      }
      return latest && structuredClone(latest.item);
    },
    close: () => entries.clear(),
  };
}
