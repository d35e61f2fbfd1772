// Where the gateway keeps what the engines do not (issue 24), chosen by --store: stored responses (their
// input and output items), the events of background runs, and conversations. `sqlite:<path>` is the
// embedded default (node:sqlite; the processes of one host share the file), `memory:` is sqlite in memory
// (nothing kept past the process), `redis://…` is shared by every gateway process and pod. Every entry has
// an owner (a hash of the credential that made it: another credential finds nothing) and an expiry
// (--store-ttl, 30 days by default, as Azure keeps stored responses).
// The backends are in sqlite-store.ts and redis-store.ts; open-store.ts opens the one --store names.

export type Item = Record<string, unknown>;

export interface StoredResponse {
  id: string;
  owner: string;
  /** The Response object as the client got it (for a background run: as it stands). */
  response: Item;
  /** The input items of the turn, as the engine was sent them (earlier turns included). */
  input: Item[];
  createdAt: number;
  /** The replica (host:port) that answered it: a continuation prefers it (never shown to clients). */
  replica?: string | undefined;
  /** A background run's lease (ms since the epoch): its runner renews it while it runs; past it, with the
   * run still queued or in progress, the process that ran it is gone (never shown to clients). */
  leaseUntil?: number | undefined;
}

export interface StoredConversation {
  id: string;
  owner: string;
  createdAt: number;
  metadata: Record<string, string>;
}

/** One event of a background run, as it went to the client (an SSE frame); `seq` is its sequence_number. */
export interface RunEvent {
  seq: number;
  frame: string;
}

export interface ItemPageQuery {
  limit: number;
  order: "asc" | "desc";
  /** An item id: the page starts after it. */
  after?: string | undefined;
}

export interface ItemPage {
  data: Item[];
  hasMore: boolean;
  /** The query's `after` names no item of the list (the page is empty). */
  afterNotFound?: true;
}

/** Statuses a background run can still leave. */
export const RUNNING = new Set(["queued", "in_progress"]);

type Maybe<T> = T | Promise<T>;

/** A file of the Files API, as its owner uploaded it. */
export interface StoredFile {
  id: string;
  owner: string;
  filename: string;
  purpose: string;
  bytes: number;
  /** ms since the epoch. */
  createdAt: number;
  /** When it is gone (ms since the epoch): its expires_after, else the store's TTL. */
  expiresAt: number;
}

/** One counter a request is charged to (core/consumers/limits.ts): a window's requests or tokens. */
export interface Charge {
  key: string;
  amount: number;
  limit: number;
  /** The counter's life from its first charge (its window). */
  ttlMs: number;
}

export interface Taken {
  /** The index of the first charge that would pass its limit (nothing was charged); undefined: all were. */
  refused: number | undefined;
  /** Each counter's value: after the charges, or as it stands when refused. */
  values: number[];
}

export interface StateStore {
  readonly kind: string;
  /** Resolves once the store answers (Redis: connected); rejects with why it cannot. `retrying` hears each
   * failed attempt while it keeps trying (Redis), so start-up names a store that does not answer at once. */
  ready(retrying?: (attempt: number, reason: string) => void): Promise<void>;

  putResponse(entry: StoredResponse, ttlMs: number): Maybe<void>;
  /** Undefined when absent, expired, or another's. */
  getResponse(id: string, owner: string): Maybe<StoredResponse | undefined>;
  /** Whether it was there (and the owner's); its items and run events go with it. */
  deleteResponse(id: string, owner: string): Maybe<boolean>;
  /** The latest stored output item with this id, for `item_reference` inputs. */
  item(itemId: string, owner: string): Maybe<Item | undefined>;

  /** A background run's response as it now stands; refused (false) once the run was cancelled. */
  updateRun(entry: StoredResponse, ttlMs: number): Maybe<boolean>;
  /** Marks a queued or running run cancelled; answers the entry as it then stands (undefined: not found). */
  cancelRun(id: string, owner: string, cancelled: Item): Maybe<StoredResponse | undefined>;
  /** Appends a run's events; false when the run was cancelled (the runner then stops the engine). */
  appendEvents(id: string, events: RunEvent[], ttlMs: number): Maybe<boolean>;
  /** The run's events after sequence number `after`, in order. */
  events(id: string, after: number): Maybe<RunEvent[]>;
  /** Extends the leases of these runs (the ones this process runs) to `until`, while they run. */
  renewRuns(ids: string[], until: number): Maybe<void>;
  /** Ends a run whose runner is gone: when it is still queued or in progress and its lease passed `now`,
   * writes the response and terminal event `end` makes of it (at the next sequence number), once, whichever
   * process finds it first. Answers the entry as it then stands (undefined: not found). */
  endAbandonedRun(
    id: string,
    owner: string,
    now: number,
    end: (entry: StoredResponse, seq: number) => { response: Item; frame: string },
  ): Maybe<StoredResponse | undefined>;

  createConversation(conversation: StoredConversation, items: Item[], ttlMs: number): Maybe<void>;
  getConversation(id: string, owner: string): Maybe<StoredConversation | undefined>;
  updateConversation(
    id: string,
    owner: string,
    metadata: Record<string, string>,
  ): Maybe<StoredConversation | undefined>;
  deleteConversation(id: string, owner: string): Maybe<boolean>;
  /** Appends items in order; false when the conversation is not there (or another's). */
  addItems(id: string, owner: string, items: Item[], ttlMs: number): Maybe<boolean>;
  /** A page of the conversation's items; undefined when the conversation is not there. */
  conversationItems(id: string, owner: string, query: ItemPageQuery): Maybe<ItemPage | undefined>;
  conversationItem(id: string, owner: string, itemId: string): Maybe<Item | undefined>;
  deleteConversationItem(id: string, owner: string, itemId: string): Maybe<boolean>;

  /** Charges every counter when none would pass its limit, at once for every process sharing the store. */
  take(charges: Charge[]): Maybe<Taken>;
  /** Adds to live counters (negative: gives back what a request did not use), never below 0. */
  adjust(changes: Array<{ key: string; amount: number }>): Maybe<void>;

  /** Files API metadata (the bytes are in --files): kept until `expiresAt`. */
  putFile(file: StoredFile): Maybe<void>;
  /** Undefined when absent, expired, or another's. */
  getFile(id: string, owner: string): Maybe<StoredFile | undefined>;
  /** The owner's files (live ones), oldest first. */
  listFiles(owner: string): Maybe<StoredFile[]>;
  deleteFile(id: string, owner: string): Maybe<boolean>;

  close(): Maybe<void>;
}

/** One page of items in stored order (oldest first), after the first item with id `after`. The routes refuse
 * a client's duplicate ids, so paging by `after` moves forward; an engine's reused output ids can still
 * repeat a page (docs/state.md). */
export function pageOf(items: Item[], { limit, order, after }: ItemPageQuery): ItemPage {
  const ordered = order === "desc" ? [...items].reverse() : items;
  const at = after === undefined ? -1 : ordered.findIndex((item) => item.id === after);
  if (after !== undefined && at < 0) return { data: [], hasMore: false, afterNotFound: true };
  const start = at + 1;
  return { data: ordered.slice(start, start + limit), hasMore: start + limit < ordered.length };
}
