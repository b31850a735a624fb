#!/usr/bin/env node
// Entry point of the `vigil` command: runs the compiled CLI (npm install builds it).
let cli;
try {
  cli = await import("../dist/src/cli/main.js");
} catch (error) {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist")) {
    process.stderr.write(
      "vigil: not built yet; run 'npm run build' (npm install does it) and try again\n",
    );
    process.exit(2);
  }
  throw error;
}
// A reader that stops early (`vigil … | head`) closes the pipe: that is not a failure of vigil.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw error;
});
process.exitCode = await cli.main(process.argv.slice(2));
