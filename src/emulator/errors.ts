/** Errors of the estate emulator: a seed folder it cannot serve, named by file. */

/** A seed file is missing, unreadable or malformed; the message names the file (and document). */
export class SeedError extends Error {
  readonly file: string;
  constructor(message: string, file: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = "SeedError";
    this.file = file;
  }
}
