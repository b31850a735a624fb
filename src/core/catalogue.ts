/**
 * Turns control documents into compiled controls: schema validation, parameter typing, rule
 * compilation, and the catalogue-wide checks (duplicate ids). A catalogue loads whole or not at all.
 */
import { InputError, InputErrors, joinPointer, RuleCompileError } from "./errors.js";
import { type CondFn, compileCondition, createCompileScope } from "./rule/compiler.js";
import { preview, typeName } from "./rule/values.js";
import type { Control, ParameterDefinition } from "./types.js";
import type { Validator } from "./validation.js";

/** A control ready to evaluate. */
export interface CompiledControl {
  readonly control: Control;
  readonly file: string;
  /** The non-compliant condition. */
  readonly rule: CondFn;
  /** Selects the observations the control is about; absent means all of `appliesTo`. */
  readonly appliesWhen: CondFn | undefined;
  /** Lower-cased `appliesTo`. */
  readonly types: ReadonlySet<string>;
  /** Parameter defaults. */
  readonly defaults: Readonly<Record<string, unknown>>;
}

/** A control document as read from disk. */
export interface ControlSource {
  file: string;
  data: unknown;
}

/** The compiled catalogue with lookups by id and by alias. */
export interface Catalogue {
  readonly controls: readonly CompiledControl[];
  /** By id and by former id (aliases), lower-cased. */
  readonly byId: ReadonlyMap<string, CompiledControl>;
}

/**
 * Check a parameter value against its declaration.
 * @returns a description of the problem, or `undefined` when the value fits.
 */
export function checkParameterValue(
  definition: ParameterDefinition,
  value: unknown,
): string | undefined {
  const ok = (() => {
    switch (definition.type) {
      case "string":
        return typeof value === "string";
      case "integer":
        return typeof value === "number" && Number.isInteger(value);
      case "number":
        return typeof value === "number" && Number.isFinite(value);
      case "boolean":
        return typeof value === "boolean";
      case "array":
        return Array.isArray(value);
      case "object":
        return value !== null && typeof value === "object" && !Array.isArray(value);
    }
  })();
  if (!ok) return `expected ${definition.type}, got ${typeName(value)} ${preview(value)}`;
  if (typeof value === "number") {
    if (definition.minimum !== undefined && value < definition.minimum)
      return `expected at least ${definition.minimum}, got ${value}`;
    if (definition.maximum !== undefined && value > definition.maximum)
      return `expected at most ${definition.maximum}, got ${value}`;
  }
  if (
    definition.allowedValues !== undefined &&
    !definition.allowedValues.some((a) => JSON.stringify(a) === JSON.stringify(value))
  ) {
    return `expected one of ${definition.allowedValues.map((a) => JSON.stringify(a)).join(", ")}, got ${preview(value)}`;
  }
  return undefined;
}

/**
 * Validate and compile one control document.
 * @throws InputErrors listing every problem (schema, parameter defaults, rule) with file and pointer.
 */
export function compileControl(source: ControlSource, validate: Validator): CompiledControl {
  validate(source.data, source.file);
  const control = source.data as Control;
  const problems: InputError[] = [];
  const defaults: Record<string, unknown> = {};
  for (const [name, definition] of Object.entries(control.parameters)) {
    const problem = checkParameterValue(definition, definition.defaultValue);
    if (problem !== undefined) {
      problems.push(
        new InputError(`default value of parameter '${name}': ${problem}`, {
          file: source.file,
          pointer: joinPointer("/parameters", name, "defaultValue"),
        }),
      );
    }
    defaults[name] = definition.defaultValue;
  }
  const scope = createCompileScope(control.parameters, source.file);
  let rule: CondFn | undefined;
  let appliesWhen: CondFn | undefined;
  try {
    if (control.appliesWhen !== undefined)
      appliesWhen = compileCondition(control.appliesWhen, scope, "/appliesWhen");
    rule = compileCondition(control.policyRule.if, scope, "/policyRule/if");
  } catch (error) {
    if (!(error instanceof RuleCompileError)) throw error;
    problems.push(error);
  }
  if (rule !== undefined) {
    for (const name of Object.keys(control.parameters)) {
      if (!scope.usedParameters.has(name)) {
        problems.push(
          new InputError(`parameter '${name}' is declared but the rule never uses it`, {
            file: source.file,
            pointer: joinPointer("/parameters", name),
          }),
        );
      }
    }
  }
  if (problems.length > 0 || rule === undefined) throw new InputErrors(problems);
  return {
    control,
    file: source.file,
    rule,
    appliesWhen,
    types: new Set(control.appliesTo.map((t) => t.toLowerCase())),
    defaults,
  };
}

/**
 * Compile every control and check the catalogue as a whole: ids and aliases unique.
 * @throws InputErrors listing every problem in every file.
 */
export function buildCatalogue(sources: readonly ControlSource[], validate: Validator): Catalogue {
  const problems: InputError[] = [];
  const controls: CompiledControl[] = [];
  const byId = new Map<string, CompiledControl>();
  for (const source of sources) {
    let compiled: CompiledControl;
    try {
      compiled = compileControl(source, validate);
    } catch (error) {
      if (error instanceof InputErrors) {
        problems.push(...error.errors);
        continue;
      }
      throw error;
    }
    const names = [compiled.control.id, ...(compiled.control.aliases ?? [])];
    let duplicate = false;
    for (const name of names) {
      const other = byId.get(name.toLowerCase());
      if (other !== undefined) {
        duplicate = true;
        problems.push(
          new InputError(`duplicate control id '${name}' (also used by ${other.file})`, {
            file: source.file,
            pointer: name === compiled.control.id ? "/id" : "/aliases",
            code: "DuplicateControl",
          }),
        );
      }
    }
    if (duplicate) continue;
    for (const name of names) byId.set(name.toLowerCase(), compiled);
    controls.push(compiled);
  }
  if (problems.length > 0) throw new InputErrors(problems);
  controls.sort((a, b) => a.control.id.localeCompare(b.control.id));
  return { controls, byId };
}
