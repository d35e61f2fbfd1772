// `--store sqlite:<path>` (the default) and `memory:` (the same in memory): node:sqlite, synchronous calls on
// one file in WAL mode, so the gateway's workers on one host share it and a restart keeps every stored
// response. Output item ids are indexed for `item_reference` inputs. Expired rows are removed as they are
// met and once an hour.
import { DatabaseSync } from "node:sqlite";
import {
  type Item,
  pageOf,
  type RunEvent,
  RUNNING,
  type StateStore,
  type StoredConversation,
  type StoredFile,
  type StoredResponse,
} from "./store.ts";

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, body TEXT NOT NULL, input TEXT NOT NULL,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'completed', replica TEXT, lease_until INTEGER);
  CREATE TABLE IF NOT EXISTS items (
    item_id TEXT NOT NULL, response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
    owner TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS items_by_id ON items (item_id, owner, created_at);
  CREATE INDEX IF NOT EXISTS items_by_response ON items (response_id);
  CREATE TABLE IF NOT EXISTS run_events (
    response_id TEXT NOT NULL REFERENCES responses(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
    frame TEXT NOT NULL, PRIMARY KEY (response_id, seq));
  CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, metadata TEXT NOT NULL,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS conversation_items (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    item_id TEXT NOT NULL, body TEXT NOT NULL);
  CREATE INDEX IF NOT EXISTS conversation_items_by_id ON conversation_items (conversation_id, item_id);
  CREATE TABLE IF NOT EXISTS counters (key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, body TEXT NOT NULL,
    created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS files_by_owner ON files (owner, created_at);
`;

export function createSqliteStore(path: string): StateStore {
  const db = new DatabaseSync(path);
  db.exec(`
    -- First: the processes of one host (workers, a restart beside a running one) open the file at once, and
    -- switching to WAL or creating the tables waits for the other instead of failing "database is locked".
    PRAGMA busy_timeout = 5000;
    PRAGMA journal_mode = WAL;
    -- NORMAL: a commit is not fsynced (a write on the event loop must not wait for the disk: FULL cost
    -- ~25 ms per stored response under load); the WAL survives a crash of the process, not of the host.
    PRAGMA synchronous = NORMAL;
    PRAGMA foreign_keys = ON;
    ${SCHEMA}
  `);
  // Files written by earlier versions lack later columns; another process may be adding them at this moment.
  const addColumn = (name: string, definition: string) => {
    const columns = db.prepare("PRAGMA table_info(responses)").all() as Array<{ name: string }>;
    if (columns.some((c) => c.name === name)) return;
    try {
      db.exec(`ALTER TABLE responses ADD COLUMN ${name} ${definition}`);
    } catch (err) {
      if (!/duplicate column/.test((err as Error).message)) throw err;
    }
  };
  addColumn("status", "TEXT NOT NULL DEFAULT 'completed'"); // before background runs: every response had finished
  addColumn("replica", "TEXT"); // before replica affinity
  addColumn("lease_until", "INTEGER"); // before run leases

  const transaction = <T>(run: () => T): T => {
    db.exec("BEGIN IMMEDIATE");
    try {
      const result = run();
      db.exec("COMMIT");
      return result;
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  };
  const insertFile = db.prepare(
    "INSERT OR REPLACE INTO files (id, owner, body, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
  );
  const selectFile = db.prepare("SELECT body FROM files WHERE id = ? AND owner = ? AND expires_at > ?");
  const selectFiles = db.prepare("SELECT body FROM files WHERE owner = ? AND expires_at > ? ORDER BY created_at, id");
  const removeFile = db.prepare("DELETE FROM files WHERE id = ? AND owner = ?");
  const statusOf = (response: Item): string => (typeof response.status === "string" ? response.status : "completed");

  const insert = db.prepare(
    `INSERT INTO responses (id, owner, body, input, status, created_at, expires_at, replica, lease_until)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET body = excluded.body, input = excluded.input, status = excluded.status,
       expires_at = excluded.expires_at, replica = excluded.replica, lease_until = excluded.lease_until`, // an update, not a replace: a run's events stay
  );
  const insertItem = db.prepare(
    "INSERT INTO items (item_id, response_id, owner, body, created_at) VALUES (?, ?, ?, ?, ?)",
  );
  const removeItems = db.prepare("DELETE FROM items WHERE response_id = ?");
  const select = db.prepare(
    "SELECT id, owner, body, input, created_at, replica, lease_until FROM responses WHERE id = ? AND owner = ? AND expires_at > ?",
  );
  const selectStatus = db.prepare("SELECT owner, status FROM responses WHERE id = ?");
  const remove = db.prepare("DELETE FROM responses WHERE id = ? AND owner = ?");
  const selectItem = db.prepare(
    "SELECT items.body FROM items JOIN responses ON responses.id = items.response_id WHERE items.item_id = ? AND items.owner = ? AND responses.expires_at > ? ORDER BY items.created_at DESC LIMIT 1",
  );
  const updateBody = db.prepare("UPDATE responses SET body = ?, status = ? WHERE id = ?");
  const insertEvent = db.prepare("INSERT OR REPLACE INTO run_events (response_id, seq, frame) VALUES (?, ?, ?)");
  const selectEvents = db.prepare("SELECT seq, frame FROM run_events WHERE response_id = ? AND seq > ? ORDER BY seq");
  const selectLastSeq = db.prepare("SELECT MAX(seq) AS seq FROM run_events WHERE response_id = ?");
  const renewLease = db.prepare(
    "UPDATE responses SET lease_until = ? WHERE id = ? AND status IN ('queued', 'in_progress')",
  );

  const insertConversation = db.prepare(
    "INSERT INTO conversations (id, owner, metadata, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
  );
  const selectConversation = db.prepare(
    "SELECT id, owner, metadata, created_at FROM conversations WHERE id = ? AND owner = ? AND expires_at > ?",
  );
  const updateMetadata = db.prepare("UPDATE conversations SET metadata = ? WHERE id = ? AND owner = ?");
  const touchConversation = db.prepare("UPDATE conversations SET expires_at = ? WHERE id = ?");
  const removeConversation = db.prepare("DELETE FROM conversations WHERE id = ? AND owner = ?");
  const insertConversationItem = db.prepare(
    "INSERT INTO conversation_items (conversation_id, item_id, body) VALUES (?, ?, ?)",
  );
  const selectConversationItems = db.prepare(
    "SELECT body FROM conversation_items WHERE conversation_id = ? ORDER BY position",
  );
  const selectConversationItem = db.prepare(
    "SELECT body FROM conversation_items WHERE conversation_id = ? AND item_id = ? ORDER BY position DESC LIMIT 1",
  );
  const removeConversationItem = db.prepare("DELETE FROM conversation_items WHERE conversation_id = ? AND item_id = ?");

  const selectCounter = db.prepare("SELECT value, expires_at FROM counters WHERE key = ?");
  const upsertCounter = db.prepare(
    "INSERT INTO counters (key, value, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
  );
  const adjustCounter = db.prepare("UPDATE counters SET value = MAX(0, value + ?) WHERE key = ? AND expires_at > ?");

  const expire = () => {
    const now = Date.now();
    db.prepare("DELETE FROM counters WHERE expires_at <= ?").run(now);
    db.prepare("DELETE FROM responses WHERE expires_at <= ?").run(now);
    db.prepare("DELETE FROM conversations WHERE expires_at <= ?").run(now);
  };
  const sweep = setInterval(expire, 3_600_000);
  sweep.unref();

  const writeResponse = (entry: StoredResponse, ttlMs: number) => {
    insert.run(
      entry.id,
      entry.owner,
      JSON.stringify(entry.response),
      JSON.stringify(entry.input),
      statusOf(entry.response),
      entry.createdAt,
      Date.now() + ttlMs,
      entry.replica ?? null,
      entry.leaseUntil ?? null,
    );
    removeItems.run(entry.id);
    for (const item of (entry.response.output as Array<{ id?: unknown }> | undefined) ?? []) {
      if (typeof item?.id === "string")
        insertItem.run(item.id, entry.id, entry.owner, JSON.stringify(item), entry.createdAt);
    }
  };
  const getResponse = (id: string, owner: string): StoredResponse | undefined => {
    const row = select.get(id, owner, Date.now()) as
      | {
          id: string;
          owner: string;
          body: string;
          input: string;
          created_at: number;
          replica: string | null;
          lease_until: number | null;
        }
      | undefined;
    return (
      row && {
        id: row.id,
        owner: row.owner,
        response: JSON.parse(row.body),
        input: JSON.parse(row.input),
        createdAt: row.created_at,
        ...(row.replica ? { replica: row.replica } : {}),
        ...(row.lease_until !== null ? { leaseUntil: Number(row.lease_until) } : {}),
      }
    );
  };
  const conversation = (id: string, owner: string): StoredConversation | undefined => {
    const row = selectConversation.get(id, owner, Date.now()) as
      { id: string; owner: string; metadata: string; created_at: number } | undefined;
    return row && { id: row.id, owner: row.owner, metadata: JSON.parse(row.metadata), createdAt: row.created_at };
  };
  const addItems = (id: string, items: Item[], ttlMs: number) => {
    for (const item of items) insertConversationItem.run(id, String(item.id), JSON.stringify(item));
    touchConversation.run(Date.now() + ttlMs, id);
  };

  return {
    kind: path === ":memory:" ? "memory" : "sqlite",
    ready: async () => {},
    putResponse: (entry, ttlMs) => transaction(() => writeResponse(entry, ttlMs)),
    getResponse,
    deleteResponse: (id, owner) => Number(remove.run(id, owner).changes) > 0,
    item(itemId, owner) {
      const row = selectItem.get(itemId, owner, Date.now()) as { body: string } | undefined;
      return row && JSON.parse(row.body);
    },

    updateRun: (entry, ttlMs) =>
      transaction(() => {
        const row = selectStatus.get(entry.id) as { status: string } | undefined;
        if (!row || row.status === "cancelled") return false;
        if (RUNNING.has(statusOf(entry.response))) {
          updateBody.run(JSON.stringify(entry.response), statusOf(entry.response), entry.id);
          return true;
        }
        writeResponse(entry, ttlMs); // the final response: its output items become referable
        return true;
      }),
    cancelRun: (id, owner, cancelled) =>
      transaction(() => {
        const entry = getResponse(id, owner);
        if (!entry || !RUNNING.has(statusOf(entry.response))) return entry;
        const response = { ...entry.response, ...cancelled, status: "cancelled" };
        updateBody.run(JSON.stringify(response), "cancelled", id);
        return { ...entry, response };
      }),
    appendEvents: (id, events) =>
      transaction(() => {
        const row = selectStatus.get(id) as { status: string } | undefined;
        if (!row || row.status === "cancelled") return false;
        for (const event of events) insertEvent.run(id, event.seq, event.frame);
        return true;
      }),
    renewRuns: (ids, until) =>
      transaction(() => {
        for (const id of ids) renewLease.run(until, id);
      }),
    endAbandonedRun: (id, owner, now, end) =>
      transaction(() => {
        const entry = getResponse(id, owner);
        if (!entry || !RUNNING.has(statusOf(entry.response)) || !((entry.leaseUntil ?? Infinity) < now)) return entry;
        const last = (selectLastSeq.get(id) as { seq: number | null }).seq;
        const seq = last === null ? 0 : Number(last) + 1;
        const { response, frame } = end(entry, seq);
        updateBody.run(JSON.stringify(response), statusOf(response), id);
        insertEvent.run(id, seq, frame);
        return { ...entry, response };
      }),
    events: (id, after) =>
      (selectEvents.all(id, after) as Array<{ seq: number; frame: string }>).map(({ seq, frame }): RunEvent => ({
        seq,
        frame,
      })),

    createConversation: (c, items, ttlMs) =>
      transaction(() => {
        insertConversation.run(c.id, c.owner, JSON.stringify(c.metadata), c.createdAt, Date.now() + ttlMs);
        addItems(c.id, items, ttlMs);
      }),
    getConversation: conversation,
    updateConversation(id, owner, metadata) {
      if (!conversation(id, owner)) return undefined;
      updateMetadata.run(JSON.stringify(metadata), id, owner);
      return conversation(id, owner);
    },
    deleteConversation: (id, owner) => Number(removeConversation.run(id, owner).changes) > 0,
    addItems: (id, owner, items, ttlMs) =>
      transaction(() => {
        if (!conversation(id, owner)) return false;
        addItems(id, items, ttlMs);
        return true;
      }),
    conversationItems(id, owner, query) {
      if (!conversation(id, owner)) return undefined;
      const rows = selectConversationItems.all(id) as Array<{ body: string }>;
      return pageOf(
        rows.map((row) => JSON.parse(row.body)),
        query,
      );
    },
    conversationItem(id, owner, itemId) {
      if (!conversation(id, owner)) return undefined;
      const row = selectConversationItem.get(id, itemId) as { body: string } | undefined;
      return row && JSON.parse(row.body);
    },
    deleteConversationItem: (id, owner, itemId) =>
      conversation(id, owner) !== undefined && Number(removeConversationItem.run(id, itemId).changes) > 0,

    take: (charges) =>
      transaction(() => {
        const now = Date.now();
        const current = charges.map(({ key, ttlMs }) => {
          const row = selectCounter.get(key) as { value: number; expires_at: number } | undefined;
          return row && row.expires_at > now
            ? { value: Number(row.value), expiresAt: Number(row.expires_at) }
            : { value: 0, expiresAt: now + ttlMs };
        });
        const refused = charges.findIndex((c, i) => current[i]!.value + c.amount > c.limit);
        if (refused >= 0) return { refused, values: current.map((c) => c.value) };
        const values = charges.map((c, i) => {
          const value = current[i]!.value + c.amount;
          upsertCounter.run(c.key, value, current[i]!.expiresAt);
          return value;
        });
        return { refused: undefined, values };
      }),
    adjust: (changes) =>
      transaction(() => {
        const now = Date.now();
        for (const { key, amount } of changes) adjustCounter.run(amount, key, now);
      }),

    putFile(file) {
      insertFile.run(file.id, file.owner, JSON.stringify(file), file.createdAt, file.expiresAt);
    },
    getFile(id, owner) {
      const row = selectFile.get(id, owner, Date.now()) as { body: string } | undefined;
      return row ? (JSON.parse(row.body) as StoredFile) : undefined;
    },
    listFiles: (owner) =>
      (selectFiles.all(owner, Date.now()) as Array<{ body: string }>).map((row) => JSON.parse(row.body) as StoredFile),
    deleteFile: (id, owner) => Number(removeFile.run(id, owner).changes) > 0,

    close() {
      clearInterval(sweep);
      db.close();
    },
  };
}
