// The errors answered lately, by code and status, for the status page: counts in one-minute buckets over the
// last fifteen minutes (this process's; /metrics has the totals). Reckoned by the gateway's clock.

const BUCKET_MS = 60_000;
const BUCKETS = 15;

export interface RecentError {
  code: string;
  status: number;
  count: number;
  /** When it was last answered (ms since the epoch). */
  lastAt: number;
}

export class RecentErrors {
  readonly windowMs = BUCKET_MS * BUCKETS;
  /** Bucket index (minutes since the epoch) -> "status code" -> count. */
  private readonly buckets = new Map<number, Map<string, number>>();
  private readonly lastAt = new Map<string, number>();

  constructor(private readonly clock: () => number = Date.now) {}

  add(status: number, code: string): void {
    const now = this.clock();
    const index = Math.floor(now / BUCKET_MS);
    let bucket = this.buckets.get(index);
    if (!bucket) {
      this.buckets.set(index, (bucket = new Map()));
      for (const old of this.buckets.keys()) if (old <= index - BUCKETS) this.buckets.delete(old);
    }
    const key = `${status} ${code}`;
    bucket.set(key, (bucket.get(key) ?? 0) + 1);
    this.lastAt.set(key, now);
  }

  /** Most frequent first. */
  list(): RecentError[] {
    const oldest = Math.floor(this.clock() / BUCKET_MS) - BUCKETS + 1;
    const counts = new Map<string, number>();
    for (const [index, bucket] of this.buckets)
      if (index >= oldest) for (const [key, n] of bucket) counts.set(key, (counts.get(key) ?? 0) + n);
    return [...counts]
      .map(([key, count]) => {
        const space = key.indexOf(" ");
        return {
          status: Number(key.slice(0, space)),
          code: key.slice(space + 1),
          count,
          lastAt: this.lastAt.get(key)!,
        };
      })
      .sort((a, b) => b.count - a.count || b.lastAt - a.lastAt);
  }
}
