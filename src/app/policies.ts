/**
 * Use cases over the control catalogue: load and validate `policies/`, run every control's
 * fixtures, and list controls. Loading is all or nothing: one bad file fails the load.
 */
import { basename, dirname, join, relative, sep } from "node:path";
import {
  buildCatalogue,
  type Catalogue,
  type Control,
  type ControlSource,
  createValidator,
  evaluateControl,
  type Finding,
  InputError,
  InputErrors,
  type Observation,
  observationProblem,
  parseInstant,
  STATUSES,
  type Status,
  type Validator,
} from "../core/index.js";
import { FileAccessError } from "./errors.js";
import { displayPath, listFiles, packageRoot, readJsonFile } from "./files.js";

/** The bundled catalogue folder. */
export function defaultControlsDir(): string {
  return join(packageRoot(), "policies", "controls");
}

/** The bundled schema folder. */
export function schemaDir(): string {
  return join(packageRoot(), "policies", "schema");
}

const schemas = new Map<string, Record<string, unknown>>();

/** A bundled schema, read from disk once per process. */
function loadSchema(name: string): Record<string, unknown> {
  let schema = schemas.get(name);
  if (schema === undefined) {
    schema = readJsonFile(join(schemaDir(), name)) as Record<string, unknown>;
    schemas.set(name, schema);
  }
  return schema;
}

/** The control schema's validator (compiled once per process). */
export function controlValidator(): Validator {
  return createValidator(loadSchema("control.schema.json"));
}

/** The config schema's validator. */
export function configValidator(): Validator {
  return createValidator(loadSchema("config.schema.json"), [loadSchema("waiver.schema.json")]);
}

/** The waiver file schema's validator. */
export function waiverValidator(): Validator {
  return createValidator(loadSchema("waiver.schema.json"));
}

/** The drill record schema's validator. */
export function drillRecordValidator(): Validator {
  return createValidator(loadSchema("drill-record.schema.json"));
}

/**
 * Collect control files from files or folders: a folder contributes every `control.json`
 * below it; a file is taken as it is.
 */
export function findControlFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    if (p.endsWith(".json")) out.push(p);
    else out.push(...listFiles(p, (name) => name === "control.json"));
  }
  return out;
}

/**
 * Load and compile controls. Besides the schema and the rule, checks the layout rule of
 * STYLE.md §6: a control lives in `<family>/<id>/control.json`.
 * @throws InputErrors listing every problem of every file; FileAccessError for a missing folder.
 */
export function loadCatalogue(paths: readonly string[] = [defaultControlsDir()]): Catalogue {
  const files = findControlFiles(paths);
  const sources: ControlSource[] = [];
  const problems: InputError[] = [];
  for (const file of files) {
    try {
      sources.push({ file: displayPath(file), data: readJsonFile(file) });
    } catch (error) {
      if (error instanceof InputError) problems.push(error);
      else throw error;
    }
  }
  if (files.length === 0)
    problems.push(new InputError("no control.json found", { file: paths.join(", ") }));
  let catalogue: Catalogue | undefined;
  try {
    catalogue = buildCatalogue(sources, controlValidator());
  } catch (error) {
    if (!(error instanceof InputErrors)) throw error;
    problems.push(...error.errors);
  }
  if (catalogue !== undefined) {
    for (const c of catalogue.controls) {
      if (basename(c.file) !== "control.json") continue;
      const folder = basename(dirname(c.file));
      const family = basename(dirname(dirname(c.file)));
      if (folder !== c.control.id)
        problems.push(
          new InputError(`the control's folder is '${folder}' but its id is '${c.control.id}'`, {
            file: c.file,
            pointer: "/id",
          }),
        );
      if (family !== c.control.family)
        problems.push(
          new InputError(
            `the control sits under '${family}' but its family is '${c.control.family}'`,
            { file: c.file, pointer: "/family" },
          ),
        );
    }
  }
  if (problems.length > 0 || catalogue === undefined) throw new InputErrors(problems);
  return catalogue;
}

/** One fixture's outcome. */
export interface FixtureResult {
  controlId: string;
  file: string;
  expected: Status | undefined;
  actual: Status | undefined;
  ok: boolean;
  /** What went wrong, or the finding's reason. */
  detail: string;
  finding?: Finding;
}

/** Per control: how many fixtures of each expected status it has. */
export interface FixtureCoverage {
  controlId: string;
  counts: Record<Status, number>;
}

// No `waived.` fixtures: fixtures run without waivers, so such a fixture could never pass.
const FIXTURE_NAME = /^(pass|fail|error|not_applicable)\.[a-z0-9]+(-[a-z0-9]+)*\.json$/;
const DEFAULT_FIXTURE_NOW = "2026-11-23T06:00:00Z";

interface FixtureFile {
  description?: unknown;
  now?: unknown;
  parameters?: unknown;
  observation?: unknown;
  expect?: unknown;
}

/**
 * Run every fixture of every control: each must yield exactly one finding for its control with
 * the status its file name starts with, and the trace entry its `expect` pins.
 */
export function runFixtures(catalogue: Catalogue): {
  results: FixtureResult[];
  coverage: FixtureCoverage[];
} {
  const results: FixtureResult[] = [];
  const coverage: FixtureCoverage[] = [];
  for (const c of catalogue.controls) {
    const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
    const dir = join(dirname(c.file), "fixtures");
    let files: string[] = [];
    try {
      files = listFiles(dir, (name) => name.endsWith(".json"));
    } catch (error) {
      // A control without a fixtures folder is reported below as missing its pass and fail fixtures.
      if (!(error instanceof FileAccessError)) throw error;
    }
    for (const file of files) {
      const result = runFixture(catalogue, c.control.id, file);
      if (result.expected !== undefined) counts[result.expected] += 1;
      results.push(result);
    }
    for (const needed of ["pass", "fail"] as const) {
      if (counts[needed] === 0) {
        results.push({
          controlId: c.control.id,
          file: relative(process.cwd(), dir) || dir,
          expected: needed,
          actual: undefined,
          ok: false,
          detail: `the control has no ${needed} fixture`,
        });
      }
    }
    coverage.push({ controlId: c.control.id, counts });
  }
  return { results, coverage };
}

function runFixture(catalogue: Catalogue, controlId: string, path: string): FixtureResult {
  const file = displayPath(path);
  const name = basename(path);
  const base = { controlId, file };
  const nameMatch = FIXTURE_NAME.exec(name);
  if (nameMatch === null) {
    return {
      ...base,
      expected: undefined,
      actual: undefined,
      ok: false,
      detail:
        "fixture name must be <status>.<kebab-case-name>.json, status pass, fail, error or not_applicable",
    };
  }
  const expected = nameMatch[1] as Status;
  let data: FixtureFile;
  try {
    data = readJsonFile(path) as FixtureFile;
  } catch (error) {
    return { ...base, expected, actual: undefined, ok: false, detail: (error as Error).message };
  }
  const nowText = typeof data.now === "string" ? data.now : DEFAULT_FIXTURE_NOW;
  const nowMs = parseInstant(nowText);
  if (nowMs === undefined)
    return {
      ...base,
      expected,
      actual: undefined,
      ok: false,
      detail: `'now' is not a date-time: ${nowText}`,
    };
  const problem = observationProblem(data.observation);
  const compiled = catalogue.byId.get(controlId.toLowerCase());
  if (compiled === undefined)
    throw new TypeError(`control ${controlId} vanished from the catalogue`);
  const parameters = data.parameters as Record<string, unknown> | undefined;
  if (parameters !== undefined && (typeof parameters !== "object" || parameters === null)) {
    return {
      ...base,
      expected,
      actual: undefined,
      ok: false,
      detail: "'parameters' must be an object",
    };
  }
  const unknown = Object.keys(parameters ?? {}).filter(
    (p) => !Object.hasOwn(compiled.control.parameters ?? {}, p),
  );
  if (unknown.length > 0) {
    return {
      ...base,
      expected,
      actual: undefined,
      ok: false,
      detail: `'parameters' names ${unknown.map((p) => `'${p}'`).join(", ")}, which the control does not declare (it declares ${Object.keys(compiled.control.parameters ?? {}).join(", ") || "none"})`,
    };
  }
  if (problem !== undefined && expected !== "error") {
    return { ...base, expected, actual: "error", ok: false, detail: problem };
  }
  const config =
    parameters === undefined ? undefined : { controls: { [compiled.control.id]: { parameters } } };
  const finding =
    problem !== undefined
      ? undefined
      : evaluateControl(compiled, data.observation as Observation, {
          nowMs,
          ...(config !== undefined ? { config } : {}),
        });
  const actual: Status = finding?.status ?? "error";
  if (actual !== expected) {
    return {
      ...base,
      expected,
      actual,
      ok: false,
      detail: finding?.reason ?? problem ?? "",
      ...(finding ? { finding } : {}),
    };
  }
  const pin = checkExpect(data.expect, finding);
  if (pin !== undefined)
    return { ...base, expected, actual, ok: false, detail: pin, ...(finding ? { finding } : {}) };
  return {
    ...base,
    expected,
    actual,
    ok: true,
    detail: finding?.reason ?? problem ?? "",
    ...(finding ? { finding } : {}),
  };
}

function checkExpect(expect: unknown, finding: Finding | undefined): string | undefined {
  if (expect === undefined) return undefined;
  if (expect === null || typeof expect !== "object")
    return "'expect' must be an object { field, observed }";
  const want = expect as { field?: unknown; value?: unknown; observed?: unknown };
  const trace = finding?.trace ?? [];
  const hit = trace.some((entry) => {
    if (want.field !== undefined && entry.field?.toLowerCase() !== String(want.field).toLowerCase())
      return false;
    if (want.value !== undefined && entry.value !== want.value) return false;
    if (!("observed" in want)) return true;
    return JSON.stringify(entry.observed) === JSON.stringify(want.observed);
  });
  if (hit) return undefined;
  const seen = trace.map((e) => `${e.field ?? e.value} = ${JSON.stringify(e.observed)}`).join("; ");
  return `no trace entry ${JSON.stringify(want)}; the trace has: ${seen || "nothing"}`;
}

/**
 * The catalogue's controls with their control.json path (relative to the package root, with `/`)
 * and fixture file names: what the controls reference documents.
 */
export function documentedControls(
  catalogue: Catalogue,
): { control: Control; path: string; fixtures: string[] }[] {
  return catalogue.controls.map((c) => {
    let fixtures: string[] = [];
    try {
      fixtures = listFiles(join(dirname(c.file), "fixtures"), (name) => name.endsWith(".json"));
    } catch (error) {
      if (!(error instanceof FileAccessError)) throw error;
    }
    return {
      control: c.control,
      path: relative(packageRoot(), c.file).split(sep).join("/"),
      fixtures: fixtures.map((f) => basename(f)),
    };
  });
}
