/**
 * Reads a seed folder into memory: `estate.json` (validated), the `arm/` and `graph/` file trees
 * (looked up case-insensitively), and watches the folder so an edited seed is served without a
 * restart. A reload that fails keeps the previous state.
 */

import { existsSync, type FSWatcher, readdirSync, readFileSync, statSync, watch } from "node:fs";
import { join, relative, sep } from "node:path";
import { SeedError } from "./errors.js";
import { type FaultRule, parseFaultRules } from "./faults.js";
import { parseThrottleSettings, type ThrottleSettings } from "./throttle.js";

/** One subscription the estate contains, as written in `estate.json`. */
export interface SeedSubscription {
  subscriptionId: string;
  displayName: string;
}

/** The validated content of `<seed>/estate.json`. */
export interface EstateConfig {
  tenantId: string;
  /** The estate's "current time" (ISO 8601); TLS certificate dates are relative to it. */
  now: string;
  subscriptions: SeedSubscription[];
  /** Page size of ARM, Graph and Kubernetes collections; undefined means one page. */
  pageSize?: number;
  faults?: FaultRule[];
  throttle?: false | ThrottleSettings;
  latencyInMs?: { min: number; max: number };
}

/** One JSON file of a seed tree. */
export interface SeedFile {
  /** Path in its original case, relative to the tree root, with a leading `/` and without `.json`. */
  path: string;
  /** The last path segment (the file name without `.json`). */
  name: string;
  body: unknown;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Largest seed file read. A seed is hand-written JSON; a file this big is a mistake (a dump, a
 * log), and reading it would hold the whole text and its parsed form in memory at once.
 */
export const MAX_SEED_FILE_BYTES = 32 * 1024 * 1024;

function readJson(file: string, label: string): unknown {
  let text: string;
  try {
    const { size } = statSync(file);
    if (size > MAX_SEED_FILE_BYTES)
      throw new SeedError(
        `is ${size} bytes; seed files are limited to ${MAX_SEED_FILE_BYTES} bytes`,
        label,
      );
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (error instanceof SeedError) throw error;
    throw new SeedError("cannot be read", label, { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new SeedError(`is not valid JSON (${(error as Error).message})`, label, { cause: error });
  }
}

/**
 * Validates the parsed `estate.json`.
 * @param label file name used in error messages
 * @throws {SeedError} naming the file and the offending field
 */
export function parseEstateConfig(value: unknown, label: string): EstateConfig {
  const fail = (field: string, expected: string): never => {
    throw new SeedError(`field "${field}": expected ${expected}`, label);
  };
  if (!isRecord(value)) return fail("(root)", "an object");
  const { tenantId, now, subscriptions, pageSize, faults, throttle, latencyInMs } = value;
  if (typeof tenantId !== "string" || !GUID.test(tenantId)) fail("tenantId", "a GUID string");
  if (typeof now !== "string" || Number.isNaN(Date.parse(now))) {
    fail("now", 'an ISO 8601 date-time such as "2026-11-23T06:00:00Z"');
  }
  if (!Array.isArray(subscriptions)) return fail("subscriptions", "an array");
  const subs: SeedSubscription[] = subscriptions.map((entry, index) => {
    if (!isRecord(entry)) return fail(`subscriptions[${index}]`, "an object");
    if (typeof entry.subscriptionId !== "string" || !GUID.test(entry.subscriptionId)) {
      fail(`subscriptions[${index}].subscriptionId`, "a GUID string");
    }
    if (typeof entry.displayName !== "string") {
      fail(`subscriptions[${index}].displayName`, "a string");
    }
    return {
      subscriptionId: entry.subscriptionId as string,
      displayName: entry.displayName as string,
    };
  });
  const config: EstateConfig = {
    tenantId: tenantId as string,
    now: now as string,
    subscriptions: subs,
  };
  if (pageSize !== undefined) {
    if (typeof pageSize !== "number" || !Number.isInteger(pageSize) || pageSize < 1) {
      fail("pageSize", "a positive integer");
    }
    config.pageSize = pageSize as number;
  }
  if (faults !== undefined) {
    try {
      config.faults = parseFaultRules(faults, "faults");
    } catch (error) {
      if (error instanceof RangeError) throw new SeedError(error.message, label, { cause: error });
      throw error;
    }
  }
  if (throttle !== undefined) {
    try {
      config.throttle = parseThrottleSettings(throttle, "throttle");
    } catch (error) {
      if (error instanceof RangeError) throw new SeedError(error.message, label, { cause: error });
      throw error;
    }
  }
  if (latencyInMs !== undefined) {
    if (
      !isRecord(latencyInMs) ||
      typeof latencyInMs.min !== "number" ||
      typeof latencyInMs.max !== "number" ||
      latencyInMs.min < 0 ||
      latencyInMs.max < latencyInMs.min
    ) {
      fail("latencyInMs", "{ min, max } with 0 <= min <= max (milliseconds)");
    }
    const range = latencyInMs as { min: number; max: number };
    config.latencyInMs = { min: range.min, max: range.max };
  }
  return config;
}

/**
 * Reads and validates `<seed>/estate.json`.
 * @throws {SeedError} when the file is missing, not JSON, or a field is wrong
 */
export function readEstateConfig(seedDir: string): EstateConfig {
  const file = join(seedDir, "estate.json");
  if (!existsSync(file)) throw new SeedError("is missing", "estate.json");
  return parseEstateConfig(readJson(file, "estate.json"), "estate.json");
}

/** A case-insensitive in-memory tree of JSON files, e.g. `<seed>/arm`. */
export class SeedTree {
  readonly #files = new Map<string, SeedFile>();
  /** Lower-cased folder path → lower-cased paths of the files directly inside it. */
  readonly #folders = new Map<string, Set<string>>();
  /** Lower-cased folder path → the folder's last segment in its original case. */
  readonly #folderNames = new Map<string, string>();

  /** The file at `path` (any case, leading `/`, no `.json`), or undefined. */
  get(path: string): SeedFile | undefined {
    return this.#files.get(normalise(path));
  }

  /** Whether `path` is a folder of the tree (it holds at least one file or folder). */
  hasFolder(path: string): boolean {
    return this.#folders.has(normalise(path));
  }

  /** The files directly inside folder `path`, sorted by file name; undefined when there is no such folder. */
  list(path: string): SeedFile[] | undefined {
    const children = this.#folders.get(normalise(path));
    if (children === undefined) return undefined;
    const files: SeedFile[] = [];
    for (const key of children) {
      const file = this.#files.get(key);
      if (file !== undefined) files.push(file);
    }
    return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The names (original case) of the sub-folders of folder `path`. */
  subfolders(path: string): string[] {
    const prefix = normalise(path);
    const names = new Set<string>();
    for (const key of this.#folders.keys()) {
      if (key.startsWith(`${prefix}/`) && !key.slice(prefix.length + 1).includes("/")) {
        names.add(this.#folderNames.get(key) ?? key.slice(prefix.length + 1));
      }
    }
    return [...names].sort();
  }

  /** Every file of the tree. */
  all(): SeedFile[] {
    return [...this.#files.values()];
  }

  /** Adds or replaces the file at `path`. */
  put(path: string, body: unknown): void {
    const clean = `/${path.split("/").filter(Boolean).join("/")}`;
    const key = normalise(clean);
    const segments = clean.split("/").filter(Boolean);
    const name = segments.at(-1) ?? "";
    const existing = this.#files.get(key);
    this.#files.set(key, { path: existing?.path ?? clean, name: existing?.name ?? name, body });
    let parent = "";
    for (let i = 0; i < segments.length - 1; i++) {
      parent += `/${segments[i]}`;
      const folderKey = normalise(parent);
      if (!this.#folders.has(folderKey)) this.#folders.set(folderKey, new Set());
      if (!this.#folderNames.has(folderKey))
        this.#folderNames.set(folderKey, segments[i] as string);
    }
    const parentKey = normalise(segments.slice(0, -1).join("/"));
    const siblings = this.#folders.get(parentKey) ?? new Set<string>();
    siblings.add(key);
    this.#folders.set(parentKey, siblings);
  }

  /** Records that folder `path` exists even when empty. */
  addFolder(path: string): void {
    const segments = path.split("/").filter(Boolean);
    let parent = "";
    for (const segment of segments) {
      parent += `/${segment}`;
      const key = normalise(parent);
      if (!this.#folders.has(key)) this.#folders.set(key, new Set());
      if (!this.#folderNames.has(key)) this.#folderNames.set(key, segment);
    }
  }

  /** Removes the file at `path`; true when it existed. */
  delete(path: string): boolean {
    const key = normalise(path);
    if (!this.#files.delete(key)) return false;
    const parentKey = key.slice(0, key.lastIndexOf("/"));
    this.#folders.get(normalise(parentKey))?.delete(key);
    return true;
  }
}

function normalise(path: string): string {
  const segments = path.split("/").filter(Boolean);
  return segments.length === 0 ? "" : `/${segments.join("/").toLowerCase()}`;
}

/**
 * Reads every `*.json` file under `dir` into a tree; a missing folder gives an empty tree.
 * @param label prefix for file names in error messages (e.g. `arm`)
 * @throws {SeedError} naming the first file that is not valid JSON
 */
export function readSeedTree(dir: string, label: string): SeedTree {
  const tree = new SeedTree();
  if (!existsSync(dir)) return tree;
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      const rel = relative(dir, full).split(sep).join("/");
      if (entry.isDirectory()) {
        tree.addFolder(rel);
        walk(full);
      } else if (entry.isFile() && entry.name.toLowerCase().endsWith(".json")) {
        tree.put(rel.slice(0, -".json".length), readJson(full, `${label}/${rel}`));
      }
    }
  };
  walk(dir);
  return tree;
}

/** Everything the emulator serves from the seed folder except Kubernetes, TLS and blobs. */
export interface SeedState {
  estate: EstateConfig;
  arm: SeedTree;
  graph: SeedTree;
}

/**
 * Reads the whole seed folder.
 * @throws {SeedError} naming the first broken file
 */
export function readSeedState(seedDir: string): SeedState {
  return {
    estate: readEstateConfig(seedDir),
    arm: readSeedTree(join(seedDir, "arm"), "arm"),
    graph: readSeedTree(join(seedDir, "graph"), "graph"),
  };
}

/** Watches a folder tree and calls `onChange` (debounced) after files change. */
export interface SeedWatcher {
  close(): void;
}

/**
 * Watches `seedDir` with a recursive `fs.watch` where the platform supports it, else by polling
 * modification times every `pollIntervalInMs`.
 */
export function watchSeed(
  seedDir: string,
  onChange: () => void,
  options: { debounceInMs?: number; pollIntervalInMs?: number } = {},
): SeedWatcher {
  const debounceInMs = options.debounceInMs ?? 50;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceInMs);
    timer.unref();
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(seedDir, { recursive: true, persistent: false }, schedule);
    watcher.on("error", (error) =>
      console.error(`emulator: seed watcher failed: ${error.message}`),
    );
  } catch (error) {
    // Older platforms throw ERR_FEATURE_UNAVAILABLE_ON_PLATFORM for recursive watches: poll instead.
    if ((error as NodeJS.ErrnoException).code !== "ERR_FEATURE_UNAVAILABLE_ON_PLATFORM")
      throw error;
  }
  if (watcher !== undefined) {
    const active = watcher;
    return {
      close() {
        if (timer !== undefined) clearTimeout(timer);
        active.close();
      },
    };
  }
  let last = fingerprint(seedDir);
  const poll = setInterval(() => {
    const next = fingerprint(seedDir);
    if (next !== last) {
      last = next;
      schedule();
    }
  }, options.pollIntervalInMs ?? 500);
  poll.unref();
  return {
    close() {
      if (timer !== undefined) clearTimeout(timer);
      clearInterval(poll);
    },
  };
}

function fingerprint(dir: string): string {
  const parts: string[] = [];
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else parts.push(`${full}:${statSync(full).mtimeMs}`);
    }
  };
  if (existsSync(dir)) walk(dir);
  return parts.sort().join("\n");
}

/** A change an admin request made to a seed tree; replayed after every reload. */
interface SeedOverride {
  tree: "arm" | "graph";
  path: string;
  /** `undefined` deletes the file. */
  body: unknown;
}

/**
 * The seed as currently served: the last state that loaded, plus admin changes on top.
 * {@link LiveSeed.reload} swaps in a new state only when the whole folder reads cleanly.
 */
export class LiveSeed {
  readonly seedDir: string;
  #state: SeedState;
  readonly #overrides: SeedOverride[] = [];

  /** @throws {SeedError} when the seed folder cannot be read */
  constructor(seedDir: string) {
    this.seedDir = seedDir;
    this.#state = readSeedState(seedDir);
  }

  /** The state in force. */
  get state(): SeedState {
    return this.#state;
  }

  /**
   * Re-reads the seed folder and replays admin changes; on failure the previous state stays.
   * @throws {SeedError} naming the broken file
   */
  reload(): void {
    const next = readSeedState(this.seedDir);
    for (const change of this.#overrides) apply(next, change);
    this.#state = next;
  }

  /** Adds or replaces a file of the `arm` or `graph` tree until the process ends. */
  put(tree: "arm" | "graph", path: string, body: unknown): void {
    const change = { tree, path, body };
    this.#overrides.push(change);
    apply(this.#state, change);
  }

  /** Removes a file of the `arm` or `graph` tree; true when it existed. */
  delete(tree: "arm" | "graph", path: string): boolean {
    const existed = this.#state[tree].get(path) !== undefined;
    const change = { tree, path, body: undefined };
    this.#overrides.push(change);
    apply(this.#state, change);
    return existed;
  }
}

function apply(state: SeedState, change: SeedOverride): void {
  if (change.body === undefined) state[change.tree].delete(change.path);
  else state[change.tree].put(change.path, change.body);
}
