/** Typed errors of the core: bad input names its file and JSON pointer; nothing is thrown bare. */

/** Base class of every error vigil raises on purpose. */
export class VigilError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "VigilError";
  }
}

/** Where in which input a problem sits. */
export interface InputLocation {
  /** The file (or other named input, such as `--config`) the problem is in. */
  file?: string;
  /** RFC 6901 JSON pointer inside that input; `""` is the whole document. */
  pointer?: string;
}

/**
 * Bad input: a malformed control, config, waiver file, observation, event or request. The
 * message names the file, the JSON pointer and what was expected.
 */
export class InputError extends VigilError {
  readonly file: string | undefined;
  readonly pointer: string | undefined;
  readonly code: string;
  constructor(
    message: string,
    location: InputLocation & { code?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(formatLocated(message, location), options);
    this.name = "InputError";
    this.file = location.file;
    this.pointer = location.pointer;
    this.code = location.code ?? "InvalidInput";
  }
}

/** Several input problems found in one pass, so that an author sees them all at once. */
export class InputErrors extends InputError {
  readonly errors: readonly InputError[];
  constructor(errors: readonly InputError[]) {
    super(
      `${errors.length} input error${errors.length === 1 ? "" : "s"}:\n${errors.map((e) => `  - ${e.message}`).join("\n")}`,
      { code: "InvalidInput" },
    );
    this.name = "InputErrors";
    this.errors = errors;
  }
}

/** A control's rule cannot compile: unknown operator, function, alias or parameter. */
export class RuleCompileError extends InputError {
  constructor(message: string, location: InputLocation, options?: { cause?: unknown }) {
    super(message, { ...location, code: "InvalidRule" }, options);
    this.name = "RuleCompileError";
  }
}

/**
 * A rule could not be evaluated on one observation (a type mismatch in a comparison, a function
 * given the wrong kind of value). The finding becomes `error`; the scan goes on.
 */
export class RuleEvaluationError extends VigilError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RuleEvaluationError";
  }
}

/** True when `error` is one of vigil's input errors. */
export function isInputError(error: unknown): error is InputError {
  return error instanceof InputError;
}

function formatLocated(message: string, location: InputLocation): string {
  const where = [location.file, location.pointer !== undefined ? `#${location.pointer}` : undefined]
    .filter((part) => part !== undefined)
    .join(" ");
  return where === "" ? message : `${where}: ${message}`;
}

/** Escape one JSON pointer reference token (RFC 6901). */
export function pointerToken(token: string | number): string {
  return String(token).replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Join a base pointer and tokens. */
export function joinPointer(base: string, ...tokens: (string | number)[]): string {
  return base + tokens.map((t) => `/${pointerToken(t)}`).join("");
}
