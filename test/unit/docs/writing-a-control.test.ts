/**
 * docs/writing-a-control.md stays true: every JSON block it marks with `<!-- file: PATH -->` is
 * that file, every file of the example control is shown, and the example loads as a catalogue
 * whose fixtures all yield their status.
 */
import { readFileSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { listFiles, loadCatalogue, runFixtures } from "../../../src/app/index.js";
import { ROOT } from "../../support/cli.js";

const DOC = "docs/writing-a-control.md";
const markdown = readFileSync(join(ROOT, DOC), "utf8");

/** A marker line, then the fenced block right after it (a blank line in between is allowed). */
const MARKED_BLOCK = /^<!-- file: (\S+) -->\n(?:\n)?```json\n([\s\S]*?)\n```$/gm;
const MARKER = /^<!-- file: (\S+) -->$/gm;

const blocks = [...markdown.matchAll(MARKED_BLOCK)].map((m) => ({
  path: m[1] as string,
  text: m[2] as string,
}));
const controlFile = blocks.map((b) => b.path).find((p) => basename(p) === "control.json");
const controlDir = controlFile === undefined ? "" : dirname(controlFile);
// <catalogue>/<family>/<id>/control.json: the layout loadCatalogue insists on.
const catalogueDir = dirname(dirname(controlDir));

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(join(ROOT, path), "utf8"));
}

describe(DOC, () => {
  it("marks only JSON blocks, each right after its marker", () => {
    const markers = [...markdown.matchAll(MARKER)].map((m) => m[1]);

    expect(blocks.map((b) => b.path)).toEqual(markers);
    expect(new Set(markers).size).toBe(markers.length);
  });

  it("shows one control.json, in a <family>/<id>/ folder", () => {
    expect(blocks.filter((b) => basename(b.path) === "control.json")).toHaveLength(1);
    expect(controlFile).toBeDefined();
    expect(readJson(controlFile as string)).toMatchObject({
      id: basename(controlDir),
      family: basename(dirname(controlDir)),
    });
  });

  it.each(blocks.map((b) => ({ ...b, name: basename(b.path) })))(
    "shows $name as it is on disk",
    ({ path, text }) => {
      expect(JSON.parse(text)).toEqual(readJson(path));
    },
  );

  it("shows every file of the example control", () => {
    const onDisk = listFiles(join(ROOT, controlDir), () => true).map((file) =>
      relative(ROOT, file).split(sep).join("/"),
    );

    expect(blocks.map((b) => b.path).sort()).toEqual(onDisk.sort());
  });
});

describe("the example control", () => {
  it("loads as a catalogue, and every fixture yields its status and pinned trace entry", () => {
    const catalogue = loadCatalogue([join(ROOT, catalogueDir)]);
    const id = basename(controlDir);

    const { results, coverage } = runFixtures(catalogue);

    const mine = results.filter((r) => r.controlId === id);
    expect(mine.filter((r) => !r.ok)).toEqual([]);
    expect(mine.length).toBe(blocks.length - 1);
    const counts = coverage.find((c) => c.controlId === id)?.counts;
    expect(counts?.pass).toBeGreaterThan(0);
    expect(counts?.fail).toBeGreaterThan(0);
    expect(counts?.error).toBeGreaterThan(0);
  });
});
