/** The processes running on this machine, read from /proc (Linux only). */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** A process as /proc/PID/stat describes it. */
export interface ProcessStat {
  pid: number;
  /** One letter: R running, S sleeping, Z zombie, … */
  state: string;
  ppid: number;
  /** Process group id. */
  pgrp: number;
}

/** Every process that is running now; zombies awaiting a reaper are left out. */
export function liveProcesses(): ProcessStat[] {
  const live: ProcessStat[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(join("/proc", entry, "stat"), "utf8");
    } catch (error) {
      // Exited between the listing and the read.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw error;
    }
    // Fields after the parenthesised command name: state, ppid, pgrp, …
    const [state = "", ppid, pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (state !== "Z")
      live.push({ pid: Number(entry), state, ppid: Number(ppid), pgrp: Number(pgrp) });
  }
  return live;
}

/** The command line of `pid` with its arguments joined by spaces ("" once it has exited). */
export function commandLine(pid: number): string {
  try {
    return readFileSync(join("/proc", String(pid), "cmdline"), "utf8")
      .split("\0")
      .join(" ");
  } catch {
    return "";
  }
}
