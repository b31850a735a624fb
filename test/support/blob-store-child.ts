/**
 * Child process for the emulator blob store's orphan test: starts the emulator's Azurite over
 * SEED_DIR, prints "ready", and waits to be killed.
 *
 * Run: node --import tsx test/support/blob-store-child.ts SEED_DIR
 */
import { startBlobStore } from "../../src/emulator/blob-store.js";
import { createCertificateAuthority } from "../../src/emulator/certificates.js";

const [seedDir] = process.argv.slice(2);
if (seedDir === undefined) throw new Error("usage: blob-store-child.ts SEED_DIR");
await startBlobStore(seedDir, { ca: createCertificateAuthority(), host: "127.0.0.1" });
process.stdout.write("ready\n");
setInterval(() => {}, 60_000);
