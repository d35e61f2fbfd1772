// `--store sqlite:<path>` (the default): node:sqlite, synchronous calls on one file in WAL mode, so the
// gateway's workers on one host share it and a restart keeps every stored response. Output item ids are
// indexed for `item_reference` inputs. Expired rows are removed as they are met and once an hour.
import { DatabaseSync } from "node:sqlite";
import type { ResponseStore, StoredResponse } from "./store.ts";

export function createSqliteStore(path: string): ResponseStore {
  const db = new DatabaseSync(path);
  db.exec(`
    PRAGMA journal_mode = WAL;
    -- NORMAL: a commit is not fsynced (a write on the event loop must not wait for the disk: FULL cost
    -- ~25 ms per stored response under load); the WAL survives a crash of the process, not of the host.
    PRAGMA synchronous = NORMAL;
    PRAGMA busy_timeout = 5000;
    CREATE TABLE IF NOT EXISTS responses (
      id TEXT PRIMARY KEY, owner TEXT NOT NULL, body TEXT NOT NULL, input TEXT NOT NULL,
      created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS items (
      item_id TEXT NOT NULL, response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
      owner TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS items_by_id ON items (item_id, owner, created_at);
    PRAGMA foreign_keys = ON;
  `);
  const insert = db.prepare(
    "INSERT OR REPLACE INTO responses (id, owner, body, input, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const insertItem = db.prepare(
    "INSERT INTO items (item_id, response_id, owner, body, created_at) VALUES (?, ?, ?, ?, ?)",
  );
  const select = db.prepare(
    "SELECT id, owner, body, input, created_at FROM responses WHERE id = ? AND owner = ? AND expires_at > ?",
  );
  const remove = db.prepare("DELETE FROM responses WHERE id = ? AND owner = ?");
  const selectItem = db.prepare(
    "SELECT items.body FROM items JOIN responses ON responses.id = items.response_id WHERE items.item_id = ? AND items.owner = ? AND responses.expires_at > ? ORDER BY items.created_at DESC LIMIT 1",
  );
  const expire = db.prepare("DELETE FROM responses WHERE expires_at <= ?");
  const sweep = setInterval(() => expire.run(Date.now()), 3_600_000);
  sweep.unref();

  return {
    kind: "sqlite",
    put(entry: StoredResponse, ttlMs: number) {
      db.exec("BEGIN");
      try {
        insert.run(
          entry.id,
          entry.owner,
          JSON.stringify(entry.response),
          JSON.stringify(entry.input),
          entry.createdAt,
          Date.now() + ttlMs,
        );
        for (const item of (entry.response.output as Array<{ id?: unknown }> | undefined) ?? []) {
          if (typeof item?.id === "string")
            insertItem.run(item.id, entry.id, entry.owner, JSON.stringify(item), entry.createdAt);
        }
        db.exec("COMMIT");
      } catch (err) {
        db.exec("ROLLBACK");
        throw err;
      }
    },
    get(id, owner) {
      const row = select.get(id, owner, Date.now()) as
        { id: string; owner: string; body: string; input: string; created_at: number } | undefined;
      return (
        row && {
          id: row.id,
          owner: row.owner,
          response: JSON.parse(row.body),
          input: JSON.parse(row.input),
          createdAt: row.created_at,
        }
      );
    },
    delete: (id, owner) => Number(remove.run(id, owner).changes) > 0,
    item(itemId, owner) {
      const row = selectItem.get(itemId, owner, Date.now()) as { body: string } | undefined;
      return row && JSON.parse(row.body);
    },
    close() {
      clearInterval(sweep);
      db.close();
    },
  };
}
