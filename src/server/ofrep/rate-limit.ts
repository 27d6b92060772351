/**
 * OFREP's per-client rate limit (OFREP_RATE_LIMIT_PER_SECOND, off by default): a token bucket per
 * client address (IPv4, or IPv6 /64) in each web process, holding one second of requests. A request
 * past it is answered 429 with `Retry-After` (seconds until a token is back), which the OpenFeature
 * providers honour by pausing their evaluations.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly maxClients = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.perSecond > 0;
  }

  /** Takes a token for `client`: 0 when allowed, else the seconds to wait (≥ 1). */
  take(client: string): number {
    if (this.perSecond <= 0) return 0;
    const now = this.now();
    let bucket = this.buckets.get(client);
    if (bucket) {
      bucket.tokens = Math.min(this.perSecond, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
      bucket.at = now;
    } else {
      // The least recently seen client is forgotten first (insertion order: seen clients move to the end).
      if (this.buckets.size >= this.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
      bucket = { tokens: this.perSecond, at: now };
    }
    this.buckets.delete(client);
    this.buckets.set(client, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }
}
