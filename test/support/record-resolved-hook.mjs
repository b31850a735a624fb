// A module hook (module.register) that appends every URL the ES module loader resolves to a file
// before the import it serves goes on, so the list is complete once that import has finished.
import { appendFileSync } from "node:fs";

let file;

export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(file, `${result.url}\n`);
  return result;
}
