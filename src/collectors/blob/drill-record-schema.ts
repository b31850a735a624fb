/**
 * The drill-record JSON Schema (`policies/schema/drill-record.schema.json`), found from this
 * module upwards (the package root holds `policies/`, in the source tree and in `dist/`), read
 * once per process and compiled by the core's validator.
 */

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createValidator, type Validator } from "../../core/index.js";

const SCHEMA = join("policies", "schema", "drill-record.schema.json");

let validator: Validator | undefined;

function schemaPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, SCHEMA);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find ${SCHEMA} above the running module`);
    dir = parent;
  }
}

/**
 * The drill-record validator (compiled once per process).
 * @throws Error when the bundled schema cannot be found (a broken installation).
 */
export function drillRecordValidator(): Validator {
  validator ??= createValidator(
    JSON.parse(readFileSync(schemaPath(), "utf8")) as Record<string, unknown>,
  );
  return validator;
}
