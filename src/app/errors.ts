/** Errors of the use-case layer. */
import { VigilError } from "../core/index.js";

/** A file or folder the use case needs is missing or unreadable. */
export class FileAccessError extends VigilError {
  readonly path: string;
  constructor(message: string, path: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FileAccessError";
    this.path = path;
  }
}

/** The core's errors, for the entry points that reach vigil only through the use cases. */
export { InputError, VigilError } from "../core/index.js";
