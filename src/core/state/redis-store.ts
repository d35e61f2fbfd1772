// `--store redis://host:port[/db]` (or rediss://): the state every gateway process and pod shares. Keys live
// under `aop:`, each with the store's TTL. What must not race (an owner's delete, a cancel against the run's
// next events, items appended to a conversation being deleted) is one Lua script; reads are one round trip.
// Commands are refused at once while the connection is down (no offline queue), and time out when Redis
// stops answering, so a request gets a 503 instead of waiting.
import { createHash } from "node:crypto";
import { createClient } from "@redis/client";
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

const COMMAND_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 10_000;

const key = {
  response: (id: string) => `aop:r:${id}`,
  item: (owner: string, itemId: string) => `aop:i:${owner}:${itemId}`,
  events: (id: string) => `aop:e:${id}`,
  conversation: (id: string) => `aop:c:${id}`,
  conversationOrder: (id: string) => `aop:co:${id}`,
  conversationItems: (id: string) => `aop:ci:${id}`,
  file: (id: string) => `aop:f:${id}`,
  /** An owner's file ids, scored by creation time. */
  files: (owner: string) => `aop:fo:${owner}`,
};

/** Lua: KEYS[1] response, KEYS[2] events; ARGV[1] owner. Deletes the response, its events, and the item
 * references that still point at it. */
const DELETE_RESPONSE = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
local ids = cjson.decode(redis.call('HGET', KEYS[1], 'items') or '[]')
for _, itemId in ipairs(ids) do
  local k = 'aop:i:' .. ARGV[1] .. ':' .. itemId
  local v = redis.call('GET', k)
  if v and cjson.decode(v).r == ARGV[2] then redis.call('DEL', k) end
end
redis.call('DEL', KEYS[1], KEYS[2])
return 1`;

/** Lua: KEYS[1] response; ARGV: body, status, ttl, input, items json, then item id / item json pairs.
 * Refused once the run is cancelled or gone. */
const UPDATE_RUN = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'body', ARGV[1], 'status', ARGV[2], 'input', ARGV[4], 'items', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local owner = redis.call('HGET', KEYS[1], 'owner')
for i = 6, #ARGV, 2 do
  redis.call('SET', 'aop:i:' .. owner .. ':' .. ARGV[i], ARGV[i + 1], 'PX', ARGV[3])
end
return 1`;

/** Lua: KEYS[1] response; ARGV[1] owner, ARGV[2] the cancelled body. 1: cancelled now. */
const CANCEL_RUN = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'queued' and status ~= 'in_progress' then return 0 end
redis.call('HSET', KEYS[1], 'body', ARGV[2], 'status', 'cancelled')
return 1`;

/** Lua: KEYS[1] response, KEYS[2] events; ARGV[1] ttl, then frames. Refused once the run is cancelled. */
const APPEND_EVENTS = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'cancelled' then return 0 end
for i = 2, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1`;

/** Lua: KEYS[1] response; ARGV[1] until. Extends a running run's lease. */
const RENEW_RUN = `
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'queued' or status == 'in_progress' then redis.call('HSET', KEYS[1], 'lease', ARGV[1]) end
return 1`;

/** Lua: KEYS response, events; ARGV[1] owner, [2] now, [3] the events it was read with, [4] body, [5] status,
 * [6] frame. Ends a run whose lease passed, if nothing changed since it was read. 1: ended now. */
const END_ABANDONED_RUN = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'queued' and status ~= 'in_progress' then return 0 end
local lease = tonumber(redis.call('HGET', KEYS[1], 'lease') or '')
if not lease or lease >= tonumber(ARGV[2]) then return 0 end
if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], 'body', ARGV[4], 'status', ARGV[5])
redis.call('RPUSH', KEYS[2], ARGV[6])
redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
return 1`;

/** Lua: KEYS conversation, order, items; ARGV[1] owner, [2] ttl, then item id / item json pairs. */
const ADD_ITEMS = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
for i = 3, #ARGV, 2 do
  redis.call('RPUSH', KEYS[2], ARGV[i])
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
end
for _, k in ipairs(KEYS) do redis.call('PEXPIRE', k, ARGV[2]) end
return 1`;

/** Lua: KEYS conversation, order, items; ARGV[1] owner, ARGV[2] metadata. */
const UPDATE_CONVERSATION = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'metadata', ARGV[2])
return 1`;

/** Lua: KEYS conversation, order, items; ARGV[1] owner. */
const DELETE_CONVERSATION = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1`;

/** Lua: KEYS conversation, order, items; ARGV[1] owner, ARGV[2] item id. */
const DELETE_CONVERSATION_ITEM = `
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return 0 end
redis.call('LREM', KEYS[2], 0, ARGV[2])
return redis.call('HDEL', KEYS[3], ARGV[2])`;

/** Lua: KEYS counters; ARGV amount, limit, ttl per key. {refused index or 0, values…}. */
const TAKE = `
local values = {}
for i, k in ipairs(KEYS) do
  local value = tonumber(redis.call('GET', k) or '0')
  values[i] = value
  if value + tonumber(ARGV[3 * i - 2]) > tonumber(ARGV[3 * i - 1]) then
    table.insert(values, 1, i)
    return values
  end
end
for i, k in ipairs(KEYS) do
  values[i] = redis.call('INCRBY', k, ARGV[3 * i - 2])
  if redis.call('PTTL', k) < 0 then redis.call('PEXPIRE', k, ARGV[3 * i]) end
end
table.insert(values, 1, 0)
return values`;

/** Lua: KEYS counters; ARGV amounts. Live counters only, never below 0. */
const ADJUST = `
for i, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then
    if redis.call('INCRBY', k, ARGV[i]) < 0 then redis.call('SET', k, 0, 'KEEPTTL') end
  end
end
return 1`;

const sha1 = (script: string) => createHash("sha1").update(script).digest("hex");

export function createRedisStore(url: string): StateStore {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: CONNECT_TIMEOUT_MS, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2_000) },
    commandOptions: { timeout: COMMAND_TIMEOUT_MS, rejectInFlight: true },
  });
  let lastError: Error | undefined;
  client.on("error", (err: Error) => void (lastError = err)); // surfaced by the calls that fail
  const connecting = client.connect();
  connecting.catch(() => {}); // ready() reports it

  /** EVALSHA, loading the script on its first use (and after a Redis restart). */
  const run = async (script: string, keys: string[], args: string[]): Promise<unknown> => {
    try {
      return await client.evalSha(sha1(script), { keys, arguments: args });
    } catch (err) {
      if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
      return client.eval(script, { keys, arguments: args });
    }
  };
  const conversationKeys = (id: string) => [key.conversation(id), key.conversationOrder(id), key.conversationItems(id)];
  const itemPairs = (items: Item[]) => items.flatMap((item) => [String(item.id), JSON.stringify(item)]);
  const outputItems = (response: Item) =>
    ((response.output as Item[] | undefined) ?? []).filter((item) => typeof item?.id === "string");

  const getResponse = async (id: string, owner: string): Promise<StoredResponse | undefined> => {
    const row = await client.hGetAll(key.response(id));
    if (row.owner !== owner || row.body === undefined) return undefined;
    return {
      id,
      owner,
      response: JSON.parse(row.body),
      input: JSON.parse(row.input ?? "[]"),
      createdAt: Number(row.created_at),
      ...(row.replica ? { replica: row.replica } : {}),
      ...(row.lease ? { leaseUntil: Number(row.lease) } : {}),
    };
  };
  const getConversation = async (id: string, owner: string): Promise<StoredConversation | undefined> => {
    const row = await client.hGetAll(key.conversation(id));
    if (row.owner !== owner) return undefined;
    return { id, owner, metadata: JSON.parse(row.metadata ?? "{}"), createdAt: Number(row.created_at) };
  };
  /** The conversation's items in order, when it is the owner's. */
  const allItems = async (id: string, owner: string): Promise<Item[] | undefined> => {
    const [found, order, bodies] = (await client
      .multi()
      .hGet(key.conversation(id), "owner")
      .lRange(key.conversationOrder(id), 0, -1)
      .hGetAll(key.conversationItems(id))
      .exec()) as unknown as [string | null, string[], Record<string, string>];
    if (found !== owner) return undefined;
    return order.flatMap((itemId) => (bodies[itemId] === undefined ? [] : [JSON.parse(bodies[itemId]!) as Item]));
  };

  return {
    kind: "redis",
    async ready(retrying) {
      let attempt = 0;
      const failedAttempt = (err: Error) =>
        retrying?.(++attempt, err.message || (err as NodeJS.ErrnoException).code || String(err));
      if (lastError && !client.isReady) failedAttempt(lastError); // an attempt that failed before ready() was called
      client.on("error", failedAttempt);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(lastError?.message || `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)),
          CONNECT_TIMEOUT_MS,
        );
      });
      try {
        await Promise.race([connecting, timeout]);
        await client.ping();
      } finally {
        clearTimeout(timer);
        client.off("error", failedAttempt);
      }
    },

    async putResponse(entry, ttlMs) {
      const items = outputItems(entry.response);
      const multi = client
        .multi()
        .hSet(key.response(entry.id), {
          owner: entry.owner,
          body: JSON.stringify(entry.response),
          input: JSON.stringify(entry.input),
          status: typeof entry.response.status === "string" ? entry.response.status : "completed",
          created_at: String(entry.createdAt),
          items: JSON.stringify(items.map((item) => item.id)),
          ...(entry.replica ? { replica: entry.replica } : {}),
          ...(entry.leaseUntil !== undefined ? { lease: String(entry.leaseUntil) } : {}),
        })
        .pExpire(key.response(entry.id), ttlMs);
      for (const item of items)
        multi.set(key.item(entry.owner, String(item.id)), JSON.stringify({ r: entry.id, item }), { PX: ttlMs });
      await multi.exec();
    },
    getResponse,
    deleteResponse: async (id, owner) =>
      (await run(DELETE_RESPONSE, [key.response(id), key.events(id)], [owner, id])) === 1,
    async item(itemId, owner) {
      const found = await client.get(key.item(owner, itemId));
      return found === null ? undefined : (JSON.parse(found) as { item: Item }).item;
    },

    async updateRun(entry, ttlMs) {
      const items = RUNNING.has(String(entry.response.status)) ? [] : outputItems(entry.response);
      const pairs = items.flatMap((item) => [String(item.id), JSON.stringify({ r: entry.id, item })]);
      const args = [
        JSON.stringify(entry.response),
        String(entry.response.status),
        String(ttlMs),
        JSON.stringify(entry.input),
        JSON.stringify(items.map((item) => item.id)),
        ...pairs,
      ];
      return (await run(UPDATE_RUN, [key.response(entry.id)], args)) === 1;
    },
    async cancelRun(id, owner, cancelled) {
      const entry = await getResponse(id, owner);
      if (!entry || !RUNNING.has(String(entry.response.status))) return entry;
      const response = { ...entry.response, ...cancelled, status: "cancelled" };
      if ((await run(CANCEL_RUN, [key.response(id)], [owner, JSON.stringify(response)])) === 1)
        return { ...entry, response };
      return getResponse(id, owner); // it finished (or was cancelled) meanwhile
    },
    appendEvents: async (id, events, ttlMs) =>
      (await run(
        APPEND_EVENTS,
        [key.response(id), key.events(id)],
        [String(ttlMs), ...events.map((event) => event.frame)],
      )) === 1,
    async renewRuns(ids, until) {
      await Promise.all(ids.map((id) => run(RENEW_RUN, [key.response(id)], [String(until)])));
    },
    async endAbandonedRun(id, owner, now, end) {
      for (;;) {
        const [entry, seq] = await Promise.all([getResponse(id, owner), client.lLen(key.events(id))]);
        if (!entry || !RUNNING.has(String(entry.response.status)) || !((entry.leaseUntil ?? Infinity) < now))
          return entry;
        const { response, frame } = end(entry, seq);
        const args = [owner, String(now), String(seq), JSON.stringify(response), String(response.status), frame];
        if ((await run(END_ABANDONED_RUN, [key.response(id), key.events(id)], args)) === 1)
          return { ...entry, response };
        // Something changed between the read and the script (an event, a renewal, the end): look again.
      }
    },
    async events(id, after) {
      const frames = await client.lRange(key.events(id), after + 1, -1);
      return frames.map((frame, i): RunEvent => ({ seq: after + 1 + i, frame }));
    },

    async createConversation(c, items, ttlMs) {
      const [conversation, order, bodies] = conversationKeys(c.id) as [string, string, string];
      const multi = client.multi().hSet(conversation, {
        owner: c.owner,
        metadata: JSON.stringify(c.metadata),
        created_at: String(c.createdAt),
      });
      if (items.length > 0) {
        multi.rPush(
          order,
          items.map((item) => String(item.id)),
        );
        multi.hSet(bodies, Object.fromEntries(items.map((item) => [String(item.id), JSON.stringify(item)])));
      }
      for (const k of [conversation, order, bodies]) multi.pExpire(k, ttlMs);
      await multi.exec();
    },
    getConversation,
    async updateConversation(id, owner, metadata) {
      if ((await run(UPDATE_CONVERSATION, conversationKeys(id), [owner, JSON.stringify(metadata)])) !== 1)
        return undefined;
      return getConversation(id, owner);
    },
    deleteConversation: async (id, owner) => (await run(DELETE_CONVERSATION, conversationKeys(id), [owner])) === 1,
    addItems: async (id, owner, items, ttlMs) =>
      (await run(ADD_ITEMS, conversationKeys(id), [owner, String(ttlMs), ...itemPairs(items)])) === 1,
    async conversationItems(id, owner, query) {
      const items = await allItems(id, owner);
      return items && pageOf(items, query);
    },
    async conversationItem(id, owner, itemId) {
      const [found, body] = (await client
        .multi()
        .hGet(key.conversation(id), "owner")
        .hGet(key.conversationItems(id), itemId)
        .exec()) as unknown as [string | null, string | null];
      return found === owner && body !== null ? (JSON.parse(body) as Item) : undefined;
    },
    deleteConversationItem: async (id, owner, itemId) =>
      (await run(DELETE_CONVERSATION_ITEM, conversationKeys(id), [owner, itemId])) === 1,

    async take(charges) {
      const reply = (await run(
        TAKE,
        charges.map((c) => `aop:n:${c.key}`),
        charges.flatMap((c) => [String(c.amount), String(c.limit), String(c.ttlMs)]),
      )) as number[];
      const [refused, ...values] = reply.map(Number);
      return { refused: refused === 0 ? undefined : refused! - 1, values };
    },
    async adjust(changes) {
      if (changes.length === 0) return;
      await run(
        ADJUST,
        changes.map((c) => `aop:n:${c.key}`),
        changes.map((c) => String(c.amount)),
      );
    },

    async putFile(file) {
      await client
        .multi()
        .hSet(key.file(file.id), { owner: file.owner, body: JSON.stringify(file) })
        .pExpireAt(key.file(file.id), file.expiresAt)
        .zAdd(key.files(file.owner), { score: file.createdAt, value: file.id })
        .exec();
    },
    async getFile(id, owner) {
      const row = await client.hGetAll(key.file(id));
      return row.owner === owner && row.body ? (JSON.parse(row.body) as StoredFile) : undefined;
    },
    async listFiles(owner) {
      const ids = await client.zRange(key.files(owner), 0, -1);
      if (ids.length === 0) return [];
      const multi = client.multi();
      for (const id of ids) multi.hGetAll(key.file(id));
      const rows = (await multi.exec()) as unknown as Array<Record<string, string>>;
      const gone = ids.filter((_, i) => rows[i]?.owner !== owner);
      if (gone.length > 0) await client.zRem(key.files(owner), gone); // expired: their keys are gone
      return rows.flatMap((row) => (row?.owner === owner && row.body ? [JSON.parse(row.body) as StoredFile] : []));
    },
    async deleteFile(id, owner) {
      const row = await client.hGetAll(key.file(id));
      if (row.owner !== owner) return false;
      await client.multi().del(key.file(id)).zRem(key.files(owner), id).exec();
      return true;
    },

    async close() {
      if (client.isOpen) await client.close().catch(() => client.destroy());
    },
  };
}
