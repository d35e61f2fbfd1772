// Which replica of a deployment serves a request. Two policies:
//   least-loaded  the ready replica with the fewest requests in flight (ties rotate);
//   prefix        the replica most likely to hold the request's prompt in its KV cache, "sticky until
//                 saturated": the replica that served the turn it continues, else one known to hold its
//                 longest prefix (a bounded table of the blocks this process sent where), else the one a
//                 rendezvous hash of its first blocks (or its prompt_cache_key) names, the same in every
//                 gateway process and moving only the prefixes of a replica that joins or leaves. A
//                 preferred replica whose engine queue or whose share of requests in flight is past its
//                 threshold is left for the least loaded one (overflow): a hot prefix spreads, never piles.
import type { EngineLoad } from "./engine-load.ts";
import { anchorOf, mix32, prefixBlocks, type RoutingFacts } from "./prefix.ts";

export const ROUTING_POLICIES = ["prefix", "least-loaded"] as const;
export type RoutingPolicy = (typeof ROUTING_POLICIES)[number];
export type RouteReason = "prefix" | "overflow" | "affinity" | "least_loaded" | "retry";

/** What the router reads of a replica. */
export interface RouteCandidate {
  /** host:port, as logs and metrics name it. */
  readonly label: string;
  /** mix32 of the label: its rendezvous weight seed. */
  readonly labelHash: number;
  /** Requests this process sent it that have not ended. */
  readonly inFlight: number;
  /** The engine's own report of its load, while its /metrics is read; undefined otherwise. */
  readonly engineLoad: EngineLoad | undefined;
  /** In rotation (its last check was ready). */
  readonly isIn: boolean;
}

export interface RouterOptions {
  policy: RoutingPolicy;
  /** Requests in flight a preferred replica may have beyond the least busy one and still be chosen. */
  slack?: number;
  /** Requests waiting in a preferred replica's engine queue at which it is passed over. */
  queueLimit?: number;
  /** KV-cache use (0..1) at which a preferred replica is passed over. */
  kvLimit?: number;
  /** Blocks the prefix table remembers (about 100 bytes each). */
  tableBlocks?: number;
}

export interface RouteChoice<C> {
  readonly replica: C;
  readonly reason: RouteReason;
}

/** Most replicas remembered per block: a hot prefix overflows to a few, not to all. */
const HOLDERS_PER_BLOCK = 4;

interface Remembered {
  labels: string[];
  tick: number;
}

export class Router<C extends RouteCandidate> {
  readonly policy: RoutingPolicy;
  private readonly slack: number;
  private readonly queueLimit: number;
  private readonly kvLimit: number;
  private readonly tableBlocks: number;
  /** Block hash -> the replicas sent a prompt with that block (most recent first) and when last. */
  private readonly table = new Map<number, Remembered>();
  /** Counts prompts remembered: the table's notion of time. */
  private tick = 0;
  private turn = 0;

  constructor(options: RouterOptions) {
    this.policy = options.policy;
    this.slack = options.slack ?? 4;
    this.queueLimit = options.queueLimit ?? 4;
    this.kvLimit = options.kvLimit ?? 0.95;
    this.tableBlocks = options.tableBlocks ?? 65_536;
  }

  /** Whether a choice reads the request's routing facts (least-loaded goes by load alone, so a caller need
   * not build them). */
  get readsFacts(): boolean {
    return this.policy === "prefix";
  }

  /** Blocks remembered now (bounded by tableBlocks). */
  get remembered(): number {
    return this.table.size;
  }

  /** The replica for a request with `facts` (none: least loaded), leaving out `exclude` (replicas already
   * tried). Undefined only when every replica is excluded. */
  choose(
    replicas: readonly C[],
    facts: RoutingFacts | undefined,
    exclude?: ReadonlySet<C>,
  ): RouteChoice<C> | undefined {
    const open = exclude && exclude.size > 0 ? replicas.filter((r) => !exclude.has(r)) : replicas;
    const pool = open.some((r) => r.isIn) ? open.filter((r) => r.isIn) : open;
    if (pool.length === 0) return undefined;
    const turn = this.turn++;
    const least = leastLoaded(pool, turn);
    if (exclude && exclude.size > 0) return { replica: least, reason: "retry" };
    if (this.policy === "least-loaded" || facts === undefined) return { replica: least, reason: "least_loaded" };

    const saturated = (r: C) => this.saturated(r, least);
    const blocks = facts.prompt ? prefixBlocks(facts.prompt) : new Uint32Array(0);
    const settle = (replica: C, reason: RouteReason): RouteChoice<C> => {
      this.remember(blocks, replica.label);
      return { replica, reason };
    };

    if (facts.previousReplica !== undefined) {
      const warm = pool.find((r) => r.label === facts.previousReplica);
      if (warm && !saturated(warm)) return settle(warm, "affinity");
    }
    const holders = this.holdersOf(blocks, pool);
    if (holders.length > 0) {
      const fresh = holders.filter((r) => !saturated(r));
      if (fresh.length > 0) return settle(leastLoaded(fresh, 0), "prefix");
      return settle(
        leastLoadedOf(
          pool.filter((r) => !holders.includes(r)),
          least,
          saturated,
        ),
        "overflow",
      );
    }
    const anchor = anchorOf(blocks, facts.cacheKey);
    if (anchor === undefined) return settle(least, "least_loaded");
    const ranked = rendezvous(pool, anchor);
    const placed = ranked.find((r) => !saturated(r));
    if (placed === ranked[0]) return settle(placed!, "prefix");
    return settle(placed ?? least, "overflow");
  }

  /** Whether `r` is too busy to be preferred: its engine's queue or KV cache past their limits, or more
   * requests in flight than the least busy replica by `slack`. */
  private saturated(r: C, least: C): boolean {
    if (r.inFlight > least.inFlight + this.slack) return true;
    const load = r.engineLoad;
    if (load === undefined) return false;
    return (load.waiting ?? 0) >= this.queueLimit || (load.kvUsage ?? 0) >= this.kvLimit;
  }

  /** The replicas in `pool` remembered for the longest of `blocks` found in the table, most recent first. */
  private holdersOf(blocks: Uint32Array, pool: readonly C[]): C[] {
    // Every block of a prompt is remembered together, so presence falls off with depth: a binary search
    // finds the deepest block remembered in about log2(blocks) lookups.
    let lo = 0;
    let hi = blocks.length - 1;
    let deepest = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.table.has(blocks[mid]!)) {
        deepest = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    for (let depth = deepest; depth >= 0; depth--) {
      const entry = this.table.get(blocks[depth]!);
      if (!entry) continue;
      const found: C[] = [];
      for (const label of entry.labels) {
        const r = pool.find((c) => c.label === label);
        if (r) found.push(r);
      }
      if (found.length > 0) return found;
    }
    return [];
  }

  /** Notes that `label` was sent every block of a prompt. A touch only stamps the entry; the table is
   * trimmed when full, least recently used first (a Map's delete and set per block cost twice as much). */
  private remember(blocks: Uint32Array, label: string): void {
    const tick = ++this.tick;
    for (const block of blocks) {
      const entry = this.table.get(block);
      if (entry === undefined) {
        this.table.set(block, { labels: [label], tick });
        continue;
      }
      entry.tick = tick;
      const labels = entry.labels;
      if (labels[0] === label) continue;
      const at = labels.indexOf(label);
      if (at >= 0) labels.splice(at, 1);
      labels.unshift(label);
      if (labels.length > HOLDERS_PER_BLOCK) labels.pop();
    }
    if (this.table.size > this.tableBlocks) this.trim();
  }

  /** Drops the least recently used tenth of the table (at least what is over its bound). */
  private trim(): void {
    const keep = Math.floor(this.tableBlocks * 0.9);
    const ticks = Float64Array.from(this.table.values(), (e) => e.tick).sort();
    const cutoff = ticks[this.table.size - keep - 1]!; // entries at or before it go
    for (const [block, entry] of this.table) if (entry.tick <= cutoff) this.table.delete(block);
  }
}

/** The fewest in flight (then the shortest engine queue); ties rotate by `turn`. */
function leastLoaded<C extends RouteCandidate>(pool: readonly C[], turn: number): C {
  let best: C | undefined;
  for (let i = 0; i < pool.length; i++) {
    const r = pool[(i + turn) % pool.length]!;
    if (best === undefined || r.inFlight < best.inFlight) best = r;
    else if (r.inFlight === best.inFlight && waiting(r) < waiting(best)) best = r;
  }
  return best!;
}

const waiting = (r: RouteCandidate) => r.engineLoad?.waiting ?? 0;

/** The least loaded of `others` that is not saturated; else `least`. */
function leastLoadedOf<C extends RouteCandidate>(others: readonly C[], least: C, saturated: (r: C) => boolean): C {
  const fresh = others.filter((r) => !saturated(r));
  return fresh.length > 0 ? leastLoaded(fresh, 0) : least;
}

/** `pool` by each replica's weight for `key`, highest first (highest random weight hashing). */
export function rendezvous<C extends RouteCandidate>(pool: readonly C[], key: number): C[] {
  return pool
    .map((r) => ({ r, weight: mix32(key ^ r.labelHash) }))
    .sort((a, b) => b.weight - a.weight || (a.r.label < b.r.label ? -1 : 1))
    .map((e) => e.r);
}
