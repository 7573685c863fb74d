/**
 * Output writing that never leaves a half-written result: files go to a temporary sibling
 * folder that is renamed into place only when everything is written.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { HwacError } from "../ir/errors.js";

/**
 * A file made piece by piece as it is written (text as UTF-8), so a large file (a model's
 * weights, its printed IR) is never whole in memory; `pieces` is called each time it is written.
 */
export interface StreamedFile {
  readonly pieces: () => Iterable<Uint8Array | string>;
}

/** What a file holds: bytes, text, or pieces made while it is written. */
export type FileContent = Uint8Array | string | StreamedFile;

function writeContent(path: string, c: FileContent): void {
  if (c instanceof Uint8Array || typeof c === "string") {
    writeFileSync(path, c);
    return;
  }
  const fd = openSync(path, "w");
  try {
    for (const p of c.pieces()) {
      const bytes = typeof p === "string" ? Buffer.from(p, "utf8") : p;
      for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
    }
  } finally {
    closeSync(fd);
  }
}

/** Writes `files` (relative name → content) as the folder `outDir`, replacing it whole. */
export function writeDirAtomic(outDir: string, files: ReadonlyMap<string, FileContent>): void {
  const parent = dirname(outDir);
  if (!existsSync(parent)) mkdirSync(parent, { recursive: true });
  if (existsSync(outDir) && !statSync(outDir).isDirectory()) {
    throw new HwacError("HW6002", `output '${outDir}' exists and is not a folder`, { file: outDir });
  }
  const stamp = `${process.pid}-${Date.now()}`;
  const tmp = join(parent, `.${basename(outDir)}.tmp-${stamp}`);
  const old = join(parent, `.${basename(outDir)}.old-${stamp}`);
  mkdirSync(tmp);
  try {
    for (const [name, data] of files) {
      const path = join(tmp, name);
      mkdirSync(dirname(path), { recursive: true });
      writeContent(path, data);
    }
    if (existsSync(outDir)) renameSync(outDir, old);
    renameSync(tmp, outDir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(old) && !existsSync(outDir)) renameSync(old, outDir);
    throw e;
  }
  rmSync(old, { recursive: true, force: true });
}

/** Writes one file atomically (temporary sibling + rename). */
export function writeFileAtomic(path: string, data: FileContent): void {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  try {
    writeContent(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
