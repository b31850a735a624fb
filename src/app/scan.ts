/**
 * Scans: evaluate the catalogue over a folder of observation files (a snapshot of an estate), or
 * over what the collectors read from a live (or emulated) estate, with config, waivers and `now`.
 */
import { randomUUID } from "node:crypto";
import {
  type Catalogue,
  type CollectProgress,
  checkConfig,
  configFromEnvironment,
  evaluate,
  type Finding,
  formatInstant,
  InputError,
  InputErrors,
  indexWaivers,
  mergeConfig,
  type Observation,
  type Run,
  type Summary,
  summarize,
  type VigilConfig,
  type Waiver,
  type WaiverIndex,
} from "../core/index.js";
import { type CollectedEstate, collectEstate, type FailedTarget } from "./collect.js";
import type { EstateDeps } from "./deps.js";
import { displayPath, listFiles, readJsonFile } from "./files.js";
import { configValidator, waiverValidator } from "./policies.js";

/** The result of one scan, as the JSON output carries it. */
export interface ScanResult {
  run: Run & { snapshot?: string; config?: string };
  findings: Finding[];
  summary: Summary;
}

/** A loaded, checked config and its waivers. */
export interface LoadedConfig {
  config: VigilConfig | undefined;
  waivers: WaiverIndex | undefined;
}

/**
 * Load a config file (schema, then semantic checks against the catalogue) and an optional
 * separate waiver file.
 * @throws InputErrors naming file and pointer; FileAccessError when a file cannot be read.
 */
export function loadConfig(
  catalogue: Catalogue,
  configPath?: string,
  waiverPath?: string,
  options: LoadConfigOptions = {},
): LoadedConfig {
  let config: VigilConfig | undefined;
  const waivers: Waiver[] = [];
  const sources: string[] = [];
  if (configPath !== undefined) {
    const file = displayPath(configPath);
    const data = readJsonFile(configPath);
    configValidator()(data, file);
    config = data as VigilConfig;
    checkConfig(config, catalogue, file);
    if (config.waivers !== undefined) {
      indexWaivers(config.waivers, file); // checks them with this file's pointers
      waivers.push(...config.waivers);
      sources.push(file);
    }
  }
  if (options.env !== undefined) {
    const fromEnv = configFromEnvironment(options.env);
    if (fromEnv.sources.size > 0) {
      checkEnvironmentConfig(fromEnv.config, fromEnv.sources, catalogue);
      const envWaivers = fromEnv.config.waivers;
      config = mergeConfig(config, fromEnv.config);
      if (envWaivers !== undefined) {
        // VIGIL_WAIVERS replaces the file's waivers, as any top-level variable replaces its key.
        waivers.length = 0;
        sources.length = 0;
        waivers.push(...envWaivers);
        sources.push("VIGIL_WAIVERS");
      }
    }
  }
  if (waiverPath !== undefined) {
    const file = displayPath(waiverPath);
    const data = readJsonFile(waiverPath);
    waiverValidator()(data, file);
    const list = (data as { waivers: Waiver[] }).waivers;
    checkConfig({ waivers: list }, catalogue, file);
    indexWaivers(list, file);
    waivers.push(...list);
    sources.push(file);
  }
  // One index over every source; a duplicate id across the two files is reported here.
  const index = sources.length === 0 ? undefined : indexWaivers(waivers, sources.join(" + "));
  return { config, waivers: index };
}

/** Options of `loadConfig`. */
export interface LoadConfigOptions {
  /** Environment variables whose `VIGIL_*` settings are laid over the config file. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Check each environment-provided key with the config schema, naming its variable. */
function checkEnvironmentConfig(
  partial: Partial<VigilConfig>,
  sources: Map<string, string>,
  catalogue: Catalogue,
): void {
  const validate = configValidator();
  const problems: InputError[] = [];
  for (const [key, value] of Object.entries(partial)) {
    const variables = [...sources]
      .filter(([pointer]) => pointer === `/${key}` || pointer.startsWith(`/${key}/`))
      .map(([, variable]) => variable)
      .join(" + ");
    const label = `environment variable ${variables}`;
    try {
      validate({ [key]: value }, label);
      checkConfig({ [key]: value } as VigilConfig, catalogue, label);
    } catch (error) {
      if (error instanceof InputErrors) problems.push(...error.errors);
      else if (error instanceof InputError) problems.push(error);
      else throw error;
    }
  }
  if (problems.length > 0) throw new InputErrors(problems);
}

/**
 * Read every `*.json` file below a snapshot folder: each holds one observation or an array of
 * them. A file that is not JSON is an input error; an observation that is malformed is kept and
 * becomes `error` findings.
 * @throws InputError for malformed JSON or a file holding neither an object nor an array.
 */
export function readSnapshot(dir: string): unknown[] {
  const observations: unknown[] = [];
  for (const path of listFiles(dir, (name) => name.endsWith(".json"))) {
    const data = readJsonFile(path);
    if (Array.isArray(data)) observations.push(...data);
    else if (data !== null && typeof data === "object") observations.push(data);
    else
      throw new InputError("expected an observation object or an array of them", {
        file: displayPath(path),
        pointer: "",
      });
  }
  return observations;
}

/** Options of a scan besides the catalogue and observations. */
export interface ScanOptions {
  nowMs: number;
  /** The clock, for the run's start and end times (tests pass a fixed one). */
  clock?: () => number;
  loaded?: LoadedConfig;
  runId?: string;
  snapshot?: string;
  configPath?: string;
  vigilVersion: string;
}

/** Evaluate the catalogue over observations and describe the run. */
export function scanObservations(
  catalogue: Catalogue,
  observations: readonly unknown[],
  options: ScanOptions,
  /** The findings when the caller has (partly) evaluated the observations already. */
  evaluated?: () => Finding[],
): ScanResult {
  const clock = options.clock ?? Date.now;
  const startedAt = formatInstant(clock());
  const findings =
    evaluated?.() ??
    evaluate(catalogue, observations, {
      nowMs: options.nowMs,
      ...(options.loaded?.config !== undefined ? { config: options.loaded.config } : {}),
      ...(options.loaded?.waivers !== undefined ? { waivers: options.loaded.waivers } : {}),
    });
  const completedAt = formatInstant(clock());
  return {
    run: {
      id: options.runId ?? randomUUID(),
      trigger: "cli",
      startedAt,
      completedAt,
      now: formatInstant(options.nowMs),
      vigilVersion: options.vigilVersion,
      controls: catalogue.controls.length,
      observations: observations.length,
      ...(options.snapshot !== undefined ? { snapshot: options.snapshot } : {}),
      ...(options.configPath !== undefined ? { config: options.configPath } : {}),
    },
    findings,
    summary: summarize(findings),
  };
}

/** Options of a scan of a live or emulated estate. */
export interface ScanEstateOptions extends ScanOptions {
  abortSignal?: AbortSignal;
  onProgress?: (progress: CollectProgress) => void;
  /** Label of the estate in the run record (the emulator seed folder, or "live"). */
  estate?: string;
  /**
   * Called with each target's observations and findings as soon as it is evaluated (targets
   * complete in any order; `index` is the target's place in the plan).
   */
  onTargetEvaluated?: (
    index: number,
    observations: readonly Observation[],
    findings: readonly Finding[],
  ) => void;
  /**
   * Keep the observations and findings in the result (default true). False: `observations`,
   * `findings` and each `byTarget[i].observations` are empty, while `summary`, `run` and the
   * targets are complete; what a caller needs of each target it takes from `onTargetEvaluated`.
   * A sweep of a large estate then holds one target at a time rather than the whole estate.
   */
  retain?: boolean;
}

/** The sum of summaries (of disjoint sets of findings). */
function addSummaries(summaries: readonly Summary[]): Summary {
  const total = summarize([]);
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [key, value] of Object.entries(from)) into[key] = (into[key] ?? 0) + value;
  };
  for (const summary of summaries) {
    total.total += summary.total;
    add(total.byStatus, summary.byStatus);
    add(total.failingBySeverity, summary.failingBySeverity);
    add(total.errorsBySeverity, summary.errorsBySeverity);
    for (const [family, counts] of Object.entries(summary.byFamily)) {
      const existing = total.byFamily[family];
      if (existing === undefined) total.byFamily[family] = { ...counts };
      else add(existing, counts);
    }
  }
  return total;
}

/** A scan of a live or emulated estate: the findings, and what could not be collected. */
export interface EstateScanResult extends ScanResult {
  targets: CollectedEstate["targets"];
  failedTargets: FailedTarget[];
  /** The redacted observations the findings were computed from. */
  observations: CollectedEstate["observations"];
  /** The same observations by target, for the evidence ledger. */
  byTarget: CollectedEstate["byTarget"];
}

/**
 * Plan the config's targets, collect them through the collectors, and evaluate the catalogue
 * over the observations. API failures become `error` findings (fail closed); a target that
 * could not be collected at all is listed in `failedTargets`.
 */
export async function scanEstate(
  catalogue: Catalogue,
  config: VigilConfig,
  deps: EstateDeps,
  options: ScanEstateOptions,
): Promise<EstateScanResult> {
  // Each target is evaluated as soon as it is collected, while the others are still being read
  // (evaluation is per observation, so the findings equal one evaluation of them all, in plan
  // order); only what is left is evaluated after the last target.
  const evaluateOptions = {
    nowMs: options.nowMs,
    ...(options.loaded?.config !== undefined ? { config: options.loaded.config } : {}),
    ...(options.loaded?.waivers !== undefined ? { waivers: options.loaded.waivers } : {}),
  };
  const retain = options.retain !== false;
  const findingsByTarget: Finding[][] = [];
  let observationCount = 0;
  const counted: Summary[] = [];
  const collected = await collectEstate(config, deps, {
    now: formatInstant(options.nowMs),
    ...(options.abortSignal !== undefined ? { abortSignal: options.abortSignal } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    retainObservations: retain,
    onTargetCollected: (index, observations) => {
      const findings = evaluate(catalogue, observations, evaluateOptions);
      options.onTargetEvaluated?.(index, observations, findings);
      observationCount += observations.length;
      if (retain) findingsByTarget[index] = findings;
      else counted.push(summarize(findings));
    },
  });
  const result = scanObservations(catalogue, collected.observations, options, () =>
    retain
      ? collected.byTarget.flatMap(
          (target, index) =>
            findingsByTarget[index] ?? evaluate(catalogue, target.observations, evaluateOptions),
        )
      : [],
  );
  if (!retain) {
    result.summary = addSummaries(counted);
    result.run.observations = observationCount;
  }
  return {
    ...result,
    targets: collected.targets,
    failedTargets: collected.failedTargets,
    observations: collected.observations,
    byTarget: collected.byTarget,
  };
}
