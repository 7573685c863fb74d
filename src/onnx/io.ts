/**
 * Byte-range file reading. `fs.readFileSync` refuses files over 2 GiB and external data files
 * may be far larger than the tensor needed, so everything is read with readSync in chunks.
 */
import fs from "node:fs";
import { constants as bufferConstants } from "node:buffer";
import { HwacError, fail, type Where } from "../../ir/errors.js";
import { CODES } from "./codes.js";

// readSync moves at most 2^31 - 1 bytes per call.
const CHUNK = 1 << 30;

/** Runs `fn` on an open file descriptor; operating-system failures become HW1002 naming `what`, which should say which file. */
export function withFile<T>(path: string, what: string, where: Where, fn: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = fs.openSync(path, "r");
  } catch (e) {
    throw ioError(e, `cannot open ${what}`, where);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) fail(CODES.io, `${what} is not a regular file`, where);
    return fn(fd, st.size);
  } catch (e) {
    throw ioError(e, `cannot read ${what}`, where);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads exactly `length` bytes at `offset` into a fresh buffer. */
export function readRange(fd: number, offset: number, length: number, where: Where): Buffer {
  if (length > bufferConstants.MAX_LENGTH) {
    fail(CODES.limit, `cannot hold ${length} bytes in memory (at most ${bufferConstants.MAX_LENGTH})`, where);
  }
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, Math.min(CHUNK, length - done), offset + done);
    if (n === 0) fail(CODES.io, `the file ended after ${offset + done} bytes while reading ${length} bytes at ${offset}`, where);
    done += n;
  }
  return out;
}

/** Reads a whole file of at most `maxBytes` bytes. */
export function readWholeFile(path: string, what: string, maxBytes: number, where: Where): Buffer {
  return withFile(path, what, where, (fd, size) => {
    if (size > maxBytes) {
      fail(CODES.limit, `${what} has ${size} bytes, more than the limit of ${maxBytes} (LoadOptions.maxModelBytes)`, where);
    }
    return readRange(fd, 0, size, where);
  });
}

export function writeWholeFile(path: string, bytes: Uint8Array, what: string, where: Where): void {
  try {
    fs.writeFileSync(path, bytes);
  } catch (e) {
    throw ioError(e, `cannot write ${what}`, where);
  }
}

/** Operating-system errors (they carry an errno code) become HW1002; anything else passes through. */
function ioError(e: unknown, context: string, where: Where): unknown {
  if (e instanceof HwacError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== "string") return e;
  return new HwacError(CODES.io, `${context}: ${(e as Error).message}`, where);
}
