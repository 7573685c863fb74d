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
  const out = allocate(length, where);
  readInto(fd, out, offset, length, where);
  return out;
}

function allocate(length: number, where: Where): Buffer {
  if (length > bufferConstants.MAX_LENGTH) {
    fail(CODES.limit, `cannot hold ${length} bytes in memory (at most ${bufferConstants.MAX_LENGTH})`, where);
  }
  return Buffer.allocUnsafe(length);
}

/** Reads exactly `length` bytes at `offset` into the start of `out`. */
function readInto(fd: number, out: Buffer, offset: number, length: number, where: Where): void {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, Math.min(CHUNK, length - done), offset + done);
    if (n === 0) fail(CODES.io, `the file ended after ${offset + done} bytes while reading ${length} bytes at ${offset}`, where);
    done += n;
  }
}

/** Bytes read by range; what `read` returns is valid until the next read. */
export interface ByteSource {
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
}

/** Smallest read from a file source: field headers are read a window at a time, not a syscall each. */
const WINDOW = 1 << 16;

/**
 * An open file as a ByteSource. Every read lands in one buffer, grown to the largest read, so
 * reading a model tensor by tensor allocates no more than its largest tensor.
 */
export function fileSource(fd: number, size: number, where: Where): ByteSource {
  let buf: Buffer = Buffer.alloc(0);
  let start = 0;
  let end = 0;
  return {
    size,
    read(offset, length) {
      if (offset < start || offset + length > end) {
        const want = Math.max(length, Math.min(WINDOW, size - offset));
        if (want > buf.length) buf = allocate(want, where);
        readInto(fd, buf, offset, want, where);
        [start, end] = [offset, offset + want];
      }
      return buf.subarray(offset - start, offset - start + length);
    },
  };
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
