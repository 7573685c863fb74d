/**
 * Conversions between ONNX's file encodings of sub-byte and half-precision elements and the
 * IR's storage (ir/dtype.ts): 4-bit values pack two per byte, low nibble first; float16 and
 * bfloat16 travel as 16-bit patterns and are stored widened to float32, which holds every
 * half value exactly.
 */
import { f16BitsToNumber, numberToBF16Bits, numberToF16Bits } from "../../ir/dtype.js";

let f16Table: Float32Array | undefined;

/** float16 bits → value, for all 65536 patterns: one lookup per element instead of arithmetic. */
function f16Values(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToNumber(h);
  }
  return f16Table;
}

/** Widens `n` 16-bit patterns (only the low 16 bits of each entry count) to float32 storage. */
export function halfBitsToF32(bits: ArrayLike<number>, n: number, dtype: "float16" | "bfloat16"): Float32Array {
  const out = new Float32Array(n);
  if (dtype === "float16") {
    const table = f16Values();
    for (let i = 0; i < n; i++) out[i] = table[bits[i]! & 0xffff]!;
  } else {
    // A bfloat16 is the top half of a float32 with the same bits.
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = (bits[i]! & 0xffff) << 16;
  }
  return out;
}

/** The 16-bit patterns of float32-stored half values (rounded to nearest even if not yet rounded). */
export function f32ToHalfBits(values: Float32Array, dtype: "float16" | "bfloat16"): Uint16Array {
  const out = new Uint16Array(values.length);
  const toBits = dtype === "float16" ? numberToF16Bits : numberToBF16Bits;
  for (let i = 0; i < values.length; i++) out[i] = toBits(values[i]!);
  return out;
}

/** 16-bit little-endian words of `raw`, viewed in place when aligned, otherwise copied once. */
export function words16(raw: Uint8Array): Uint16Array {
  const n = raw.byteLength >>> 1;
  if (raw.byteOffset % 2 === 0) return new Uint16Array(raw.buffer, raw.byteOffset, n);
  return new Uint16Array(Uint8Array.prototype.slice.call(raw, 0, 2 * n).buffer);
}

/** Unpacks `n` 4-bit values from bytes (low nibble first), sign-extending for int4. */
export function unpackNibbles(bytes: ArrayLike<number>, n: number, signed: boolean): Int8Array | Uint8Array {
  if (signed) {
    const out = new Int8Array(n);
    for (let i = 0; i < n; i++) out[i] = ((bytes[i >>> 1]! >>> ((i & 1) << 2)) << 28) >> 28;
    return out;
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (bytes[i >>> 1]! >>> ((i & 1) << 2)) & 0xf;
  return out;
}

/** Packs 4-bit values two per byte, low nibble first; an odd count leaves the last high nibble 0. */
export function packNibbles(values: Int8Array | Uint8Array): Uint8Array {
  const out = new Uint8Array((values.length + 1) >>> 1);
  for (let i = 0; i < values.length; i++) out[i >>> 1]! |= (values[i]! & 0xf) << ((i & 1) << 2);
  return out;
}

/** Bool storage (0/1) from bytes or int32 values, where any non-zero value means true. */
export function toBool(values: ArrayLike<number>, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
  return out;
}
