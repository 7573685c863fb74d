/**
 * Output writing that never leaves a half-written result: files go to a temporary sibling
 * folder that is renamed into place only when everything is written.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { HwacError } from "../ir/errors.js";

/** Writes `files` (relative name → bytes or text) as the folder `outDir`, replacing it whole. */
export function writeDirAtomic(outDir: string, files: ReadonlyMap<string, Uint8Array | string>): void {
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
      writeFileSync(path, data);
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
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}
