/**
 * What the Functions handlers and `vigil serve` share for the life of the process: the catalogue,
 * the config with its waivers, the estate's collectors, vigil's own store and the notification
 * sinks, built once (STYLE.md §1) and handed to every use case.
 */

import type { Catalogue, NotificationSink, VigilConfig } from "../core/index.js";
import type { AppStore, EstateDeps } from "./deps.js";
import type { LoadedConfig } from "./scan.js";

/** The process-wide parts every use case of the app reads. */
export interface AppRuntime {
  catalogue: Catalogue;
  /** The config and waivers in force (file and `VIGIL_*` settings merged). */
  loaded: LoadedConfig;
  /** The config the targets are planned from (never undefined: `{}` when none was given). */
  config: VigilConfig;
  estate: EstateDeps;
  store: AppStore;
  sinks: readonly NotificationSink[];
  vigilVersion: string;
  /** Wall clock, epoch ms (tests and the emulator pass their own). */
  clock: () => number;
  /**
   * The evaluation time of a run started now, epoch ms. The wall clock in Azure; an emulated estate
   * pins it to its seed's `now` so that its ages stay what the seed says.
   */
  evaluationTime: () => number;
  /** Attempts of a queue message before it goes to the poison queue (host.json maxDequeueCount). */
  maxDequeueCount: number;
  /** The current-state cache over `store`, when the runtime has one ({@link withStateCache}). */
  stateCache?: StateCache;
}

/** host.json's `extensions.queues.maxDequeueCount`, and `vigil serve`'s. */
export const DEFAULT_MAX_DEQUEUE_COUNT = 5;

/**
 * How long a read of the current state (a scope's freshness and rows, the scanned scopes, the
 * ledger head) may answer the gate and the findings API from this process's memory. Writes made
 * through this process's runtime drop the cache at once; this bounds how long a write by another
 * instance (Functions scale out; a CLI scan into the same account) can go unseen.
 */
export const STATE_CACHE_TTL_MS = 5_000;
/**
 * Past this share of the TTL, a question answered from the cache also starts a new read of its
 * key in the background: a key asked about steadily is reloaded before it expires, so no question
 * waits for the store (the gate's p99 under load), while every answer still comes from a read
 * begun less than the TTL ago.
 */
const REFRESH_AFTER_TTL_SHARE = 0.5;
/** Most reads a state cache keeps (scopes asked about); one more empties it first. */
const MAX_CACHED_READS = 1024;

/** One cached read: the value and the wall-clock time (epoch ms) it was read from the store. */
export interface CachedRead<T> {
  value: T;
  readAt: number;
}

/**
 * The per-process cache of current-state reads (`withStateCache`). A read is served from memory
 * only when it was loaded after the last write through this runtime began and ended, and less
 * than `ttlMs` ago; concurrent misses of one key share one load, and a key asked about past half
 * its TTL is reloaded in the background while the cached read still answers.
 */
export interface StateCache {
  /** The store whose writes drop this cache: reads use the cache only through this store. */
  readonly store: AppStore;
  readonly ttlMs: number;
  /** The value of `key`, from memory when fresh, else from `load` (kept when no write overlapped). */
  read<T>(key: string, load: () => Promise<T>): Promise<CachedRead<T>>;
  /** Forget everything (every write through the store does this, at its start and its end). */
  invalidate(): void;
}

/** Options of {@link withStateCache}. */
export interface StateCacheOptions {
  /** Default {@link STATE_CACHE_TTL_MS}; 0 turns the cache off (every read goes to the store). */
  ttlMs?: number;
  /** Monotonic milliseconds for the TTL (default `performance.now`; tests pass their own). */
  monotonic?: () => number;
}

/**
 * The runtime with a current-state cache: the same parts, with a store whose writes that can
 * change a gate or findings answer (`applyFindings`, `append`, `runs.touchScopes`) drop the cache
 * when they begin and when they end, successful or not. Idempotent: a runtime that already has its
 * cache over its store is returned as it is.
 */
export function withStateCache(rt: AppRuntime, options: StateCacheOptions = {}): AppRuntime {
  if (rt.stateCache !== undefined && rt.stateCache.store === rt.store) return rt;
  const ttlMs = options.ttlMs ?? STATE_CACHE_TTL_MS;
  const monotonic = options.monotonic ?? (() => performance.now());
  const clock = rt.clock;
  let generation = 0;
  let writing = 0;
  const entries = new Map<string, { read: CachedRead<unknown>; at: number }>();
  const loading = new Map<string, { generation: number; promise: Promise<CachedRead<unknown>> }>();
  const invalidate = () => {
    generation += 1;
    entries.clear();
    loading.clear();
  };
  const during = async <T>(write: () => Promise<T>): Promise<T> => {
    writing += 1;
    invalidate();
    try {
      return await write();
    } finally {
      invalidate();
      writing -= 1;
    }
  };
  const raw = rt.store;
  const store: AppStore = {
    ...raw,
    applyFindings: (...args) => during(() => raw.applyFindings(...args)),
    append: (input) => during(() => raw.append(input)),
    runs: { ...raw.runs, touchScopes: (rows) => during(() => raw.runs.touchScopes(rows)) },
  };
  const cache: StateCache = {
    store,
    ttlMs,
    invalidate,
    read<T>(key: string, load: () => Promise<T>): Promise<CachedRead<T>> {
      const entry = entries.get(key);
      if (entry !== undefined) {
        const age = monotonic() - entry.at;
        if (age < ttlMs) {
          // A failed background read is not kept; the question after the TTL reads again.
          if (age >= ttlMs * REFRESH_AFTER_TTL_SHARE) void loadShared(key, load).catch(() => {});
          return Promise.resolve(entry.read as CachedRead<T>);
        }
        entries.delete(key);
      }
      return loadShared(key, load);
    },
  };
  /** A load of `key`, or the one in flight since the last write; kept when no write overlapped. */
  function loadShared<T>(key: string, load: () => Promise<T>): Promise<CachedRead<T>> {
    const pending = loading.get(key);
    if (pending !== undefined && pending.generation === generation)
      return pending.promise as Promise<CachedRead<T>>;
    const started = generation;
    const at = monotonic();
    // Stamped when the load starts: what it returns is at least as new as that.
    const readAt = clock();
    const promise = load().then(
      (value) => {
        // The very object every hit hands out, so that callers can tell an unchanged read.
        const read: CachedRead<T> = { value, readAt };
        // Kept only when no write began or ended while it loaded: otherwise it may predate it.
        if (ttlMs > 0 && writing === 0 && generation === started) {
          // Bounded: clients choose the scopes they ask about.
          if (entries.size >= MAX_CACHED_READS) entries.clear();
          entries.set(key, { read, at });
        }
        if (loading.get(key)?.promise === promise) loading.delete(key);
        return read;
      },
      (error: unknown) => {
        if (loading.get(key)?.promise === promise) loading.delete(key);
        throw error;
      },
    );
    if (ttlMs > 0 && writing === 0) loading.set(key, { generation: started, promise });
    return promise;
  }
  return { ...rt, store, stateCache: cache };
}

/**
 * Read `key` through the runtime's state cache when it has one over its current store, else
 * straight from the store (`readAt` is then now).
 */
export async function readState<T>(
  rt: AppRuntime,
  key: string,
  load: () => Promise<T>,
): Promise<CachedRead<T>> {
  const cache = rt.stateCache;
  if (cache !== undefined && cache.store === rt.store) return cache.read(key, load);
  const readAt = rt.clock();
  return { value: await load(), readAt };
}
