/**
 * Tensor data stored outside the model file (TensorProto.data_location = EXTERNAL). A model
 * is untrusted input, so `location` may only name a file inside the model's own folder, and
 * only the byte range the tensor needs is read.
 */
import fs from "node:fs";
import path from "node:path";
import { fail, type Where } from "../../ir/errors.js";
import { CODES } from "./codes.js";
import { readRange, withFile } from "./io.js";
import type { TensorProto } from "./proto.js";

export interface ExternalDataCtx {
  readonly where: Where;
  /** The model's folder; external data is refused when absent (e.g. a model decoded from bytes). */
  readonly baseDir?: string;
}

/** Reads the `expectedBytes` bytes of an external tensor, after checking where they come from. */
export function readExternalData(tp: TensorProto, expectedBytes: number, label: string, ctx: ExternalDataCtx): Buffer {
  const entries = new Map<string, string>();
  for (const e of tp.externalData ?? []) entries.set(e.key ?? "", e.value ?? "");
  const location = entries.get("location") ?? "";
  const reject = (code: string, why: string): never =>
    fail(code, `${label}: external data location '${location}' ${why}`, ctx.where);

  if (location === "") fail(CODES.externalData, `${label} is stored externally but has no 'location' entry`, ctx.where);
  const baseDir = ctx.baseDir ?? reject(CODES.externalData, "cannot be resolved: the model was not loaded from a folder");
  const offset = parseCount(entries.get("offset") ?? "0", "offset", reject);
  const lengthEntry = entries.get("length");
  const length = lengthEntry === undefined ? undefined : parseCount(lengthEntry, "length", reject);

  const file = resolveInside(baseDir, location, reject);
  return withFile(file, `external data file '${location}' of ${label}`, ctx.where, (fd, size) => {
    if (offset > size) reject(CODES.externalData, `has offset ${offset}, past the end of the file (${size} bytes)`);
    const used = length ?? size - offset;
    if (offset + used > size) {
      reject(CODES.externalData, `has offset ${offset} + length ${used} = ${offset + used}, past the end of the file (${size} bytes)`);
    }
    if (used !== expectedBytes) {
      reject(CODES.dataSize, `holds ${used} bytes, but the tensor's shape and element type need ${expectedBytes}`);
    }
    return readRange(fd, offset, used, ctx.where);
  });
}

function parseCount(text: string, key: string, reject: (code: string, why: string) => never): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) reject(CODES.externalData, `has an invalid ${key} '${text}' (expected a byte count)`);
  return n;
}

/** The real path of `location` under `baseDir`; rejects anything that could reach outside it. */
function resolveInside(baseDir: string, location: string, reject: (code: string, why: string) => never): string {
  if (path.posix.isAbsolute(location) || path.win32.isAbsolute(location)) {
    reject(CODES.externalData, "is an absolute path; it must be relative to the model's folder");
  }
  if (location.split(/[\\/]/).includes("..")) {
    reject(CODES.externalData, "contains a '..' segment; it must stay inside the model's folder");
  }
  if (location.includes("\0")) reject(CODES.externalData, "contains a NUL character");
  let real: string;
  let realBase: string;
  try {
    realBase = fs.realpathSync(baseDir);
    real = fs.realpathSync(path.join(realBase, location));
  } catch (e) {
    return reject(CODES.externalData, `cannot be opened: ${(e as Error).message}`);
  }
  const rel = path.relative(realBase, real);
  if (rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    reject(CODES.externalData, `resolves to '${real}', outside the model's folder '${realBase}'`);
  }
  return real;
}
