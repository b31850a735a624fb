/**
 * ARM read throttling as a token bucket per subscription, the way public-cloud ARM counts reads
 * since 2024 ("Understand how Azure Resource Manager throttles requests": 250 reads, refilled at
 * 25 per second). Time comes from an injectable clock so tests need not wait.
 */

/** Bucket size and refill rate; `estate.json` `throttle` or the `throttle` option. */
export interface ThrottleSettings {
  capacity: number;
  refillPerSecond: number;
}

/** The outcome of taking one token. */
export interface ThrottleResult {
  allowed: boolean;
  /** Whole tokens left after this request (the `x-ms-ratelimit-remaining-subscription-reads` value). */
  remaining: number;
  /** Seconds until a token is available again (only when not allowed). */
  retryAfterSeconds?: number;
}

/** Reads the number of milliseconds since some fixed origin. */
export type Clock = () => number;

/**
 * Validates throttle settings (`false` turns throttling off).
 * @throws {RangeError} naming the offending field
 */
export function parseThrottleSettings(value: unknown, pointer: string): false | ThrottleSettings {
  if (value === false) return false;
  if (typeof value !== "object" || value === null) {
    throw new RangeError(`field "${pointer}": expected false or { capacity, refillPerSecond }`);
  }
  const { capacity, refillPerSecond } = value as Record<string, unknown>;
  if (typeof capacity !== "number" || !Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`field "${pointer}.capacity": expected a positive integer`);
  }
  if (typeof refillPerSecond !== "number" || !(refillPerSecond >= 0)) {
    throw new RangeError(`field "${pointer}.refillPerSecond": expected a non-negative number`);
  }
  return { capacity, refillPerSecond };
}

/** Token buckets keyed by subscription id (or `tenant` for requests without one). */
export class ArmThrottle {
  readonly #settings: ThrottleSettings;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(settings: ThrottleSettings, clock: Clock = () => performance.now()) {
    this.#settings = settings;
    this.#clock = clock;
  }

  /** Takes one read token from `key`'s bucket. */
  take(key: string): ThrottleResult {
    const { capacity, refillPerSecond } = this.#settings;
    const now = this.#clock();
    const bucket = this.#buckets.get(key.toLowerCase()) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(
      capacity,
      bucket.tokens + ((now - bucket.at) / 1000) * refillPerSecond,
    );
    bucket.at = now;
    this.#buckets.set(key.toLowerCase(), bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, remaining: Math.floor(bucket.tokens) };
    }
    // With no refill the bucket never recovers; tell the client to come back in a minute anyway.
    const retryAfterSeconds =
      refillPerSecond > 0 ? Math.max(1, Math.ceil((1 - bucket.tokens) / refillPerSecond)) : 60;
    return { allowed: false, remaining: 0, retryAfterSeconds };
  }
}
