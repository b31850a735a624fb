/**
 * JSON Schema validation with ajv (draft 2020-12), compiled once per schema, turning ajv's
 * errors into InputErrors that name the file, the JSON pointer and what was expected.
 */
import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { InputError, InputErrors } from "./errors.js";

// ajv-formats is CommonJS: under NodeNext its default export is the module object.
const addFormats =
  (addFormatsModule as unknown as { default: typeof addFormatsModule }).default ?? addFormatsModule;

/** Validates one kind of document; throws on the first invalid one with every problem listed. */
export type Validator = (data: unknown, file: string) => void;

let shared: Ajv2020 | undefined;

function ajv(): Ajv2020 {
  if (shared === undefined) {
    shared = new Ajv2020({
      allErrors: true,
      strict: true,
      strictRequired: false,
      allowUnionTypes: true,
    });
    (addFormats as unknown as (a: Ajv2020) => void)(shared);
  }
  return shared;
}

const compiled = new Map<string, Validator>();

/**
 * Compile a schema once (cached by its `$id`) into a validator. `references` are schemas it
 * refers to by `$id`.
 * @throws InputErrors from the validator when the data does not match.
 */
export function createValidator(
  schema: Record<string, unknown>,
  references: readonly Record<string, unknown>[] = [],
): Validator {
  const id = String(schema.$id ?? "");
  const existing = id === "" ? undefined : compiled.get(id);
  if (existing !== undefined) return existing;
  const instance = ajv();
  for (const ref of references) {
    const refId = String(ref.$id ?? "");
    if (refId !== "" && instance.getSchema(refId) === undefined) instance.addSchema(ref);
  }
  const validate =
    id !== "" && instance.getSchema(id) !== undefined
      ? (instance.getSchema(id) as ReturnType<Ajv2020["compile"]>)
      : instance.compile(schema);
  const validator: Validator = (data, file) => {
    if (validate(data)) return;
    throw new InputErrors(formatAjvErrors(validate.errors ?? [], file));
  };
  if (id !== "") compiled.set(id, validator);
  return validator;
}

/**
 * Turn ajv errors into one InputError each, dropping the noise of `if`/`anyOf` branches that
 * only restate a more precise error at the same or a deeper pointer.
 */
export function formatAjvErrors(errors: readonly ErrorObject[], file: string): InputError[] {
  const useful = errors.filter((e) => e.keyword !== "if");
  const pointers = useful
    .filter((e) => e.keyword !== "anyOf" && e.keyword !== "oneOf")
    .map((e) => e.instancePath);
  const out: InputError[] = [];
  const seen = new Set<string>();
  for (const e of useful) {
    if (
      (e.keyword === "anyOf" || e.keyword === "oneOf") &&
      pointers.some((p) => p.startsWith(e.instancePath) && p !== e.instancePath)
    )
      continue;
    if (
      e.keyword === "required" &&
      useful.some((o) => o.keyword === "anyOf" && o.instancePath === e.instancePath)
    )
      continue;
    const message = describe(e);
    const key = `${e.instancePath}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(new InputError(message, { file, pointer: e.instancePath, code: "SchemaViolation" }));
  }
  if (out.length === 0)
    out.push(
      new InputError("does not match the schema", { file, pointer: "", code: "SchemaViolation" }),
    );
  return out;
}

function describe(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties":
      return `unexpected property '${String(p.additionalProperty)}'`;
    case "required":
      return `missing required property '${String(p.missingProperty)}'`;
    case "enum":
      return `expected one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    case "const":
      return `expected ${JSON.stringify(p.allowedValue)}`;
    case "type":
      return `expected ${String(p.type)}`;
    case "pattern":
      return `expected a string matching ${String(p.pattern)}`;
    case "anyOf":
      return "expected one of: allOf, anyOf, not, field, value or count (for a condition), or another allowed shape";
    case "format":
      return `expected a ${String(p.format)}`;
    default:
      return `expected ${e.message ?? e.keyword}`;
  }
}
