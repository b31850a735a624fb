/**
 * Reading vigil's own inputs from disk: JSON files with errors that name the file and the
 * line, folders walked in a stable order, and the package's own folders (policies, schemas).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "../core/index.js";
import { FileAccessError } from "./errors.js";
import { locateJsonError } from "./json-error.js";

let root: string | undefined;

/** The folder holding vigil's package.json (works from src/ under tsx and from dist/). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "package.json");
    if (
      existsSync(candidate) &&
      (JSON.parse(readFileSync(candidate, "utf8")) as { name?: string }).name === "vigil"
    ) {
      root = dir;
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new FileAccessError("cannot find vigil's package.json above the running module", dir);
    dir = parent;
  }
}

/** vigil's version from package.json. */
export function vigilVersion(): string {
  return (
    JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }
  ).version;
}

/** A path relative to the working directory when it lies below it, for messages. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" || rel.startsWith("..") ? path : rel;
}

/**
 * Read and parse a JSON file.
 * @throws FileAccessError when it cannot be read; InputError naming the file, line and column
 * when it is not JSON.
 */
export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new FileAccessError(
      `cannot read ${displayPath(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      path,
      { cause: error },
    );
  }
  return parseJsonText(text, displayPath(path));
}

/**
 * Parse JSON text.
 * @throws InputError naming the file, line and column of a syntax error.
 */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown;
  } catch (error) {
    const message = (error as Error).message;
    const offset = locateJsonError(text);
    let where = "";
    if (offset !== undefined) {
      const before = text.slice(0, offset);
      const line = before.split("\n").length;
      const column = offset - before.lastIndexOf("\n");
      where = ` at line ${line}, column ${column}`;
    }
    throw new InputError(
      `malformed JSON${where}: ${(message.split("\n")[0] ?? "").replace(/ in JSON at position.*$|, ".*$|, \.\.\.".*$/, "")}`,
      { file, pointer: "", code: "MalformedJson" },
      { cause: error },
    );
  }
}

/**
 * Every file below `dir` (recursively) whose name passes `accept`, sorted by path.
 * @throws FileAccessError when `dir` is not a readable folder.
 */
export function listFiles(dir: string, accept: (name: string) => boolean): string[] {
  const absolute = resolve(dir);
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(absolute);
  } catch (error) {
    throw new FileAccessError(`no such folder: ${displayPath(absolute)}`, absolute, {
      cause: error,
    });
  }
  if (!stat.isDirectory())
    throw new FileAccessError(`not a folder: ${displayPath(absolute)}`, absolute);
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (entry.name.startsWith(".")) continue;
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && accept(entry.name)) out.push(full);
    }
  };
  walk(absolute);
  return out;
}
