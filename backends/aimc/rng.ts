/**
 * The AIMC simulator's random numbers: Philox4x32-10, the counter-based generator of Salmon,
 * Moraes, Dror and Shaw, "Parallel random numbers: as easy as 1, 2, 3" (SC'11), as Random123
 * defines it (checked against Random123's known-answer vectors in test/aimc/rng.test.ts).
 *
 * A counter-based generator is a keyed bijection: draw number `n` of a stream is computed from
 * (key, n) alone. Every draw of the simulator is addressed by its coordinates (seed, purpose,
 * layer, block, row, element, inference index), so a value does not depend on batch size, worker
 * count or the order in which draws are made.
 */
import { HwacError } from "../../ir/errors.js";

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const M0_HI = M0 >>> 16;
const M0_LO = M0 & 0xffff;
const M1_HI = M1 >>> 16;
const M1_LO = M1 & 0xffff;

/** High 32 bits of the 64-bit product (mHi·2^16 + mLo) · c, exact in float64 (every term < 2^34). */
function mulHi(mHi: number, mLo: number, c: number): number {
  const cHi = c >>> 16;
  const cLo = c & 0xffff;
  const t = mLo * cLo;
  const u = mHi * cLo + (t >>> 16);
  const v = mLo * cHi + (u & 0xffff);
  return mHi * cHi + Math.floor(u / 65536) + Math.floor(v / 65536);
}

/**
 * One Philox4x32-10 block: ten rounds of
 *   (hi0, lo0) = M0·c0, (hi1, lo1) = M1·c2, c ← (hi1 ⊕ c1 ⊕ k0, lo1, hi0 ⊕ c3 ⊕ k1, lo0),
 * the key bumped by the Weyl constants (W0, W1) before every round but the first.
 */
export function philox4x32_10(counter: ArrayLike<number>, key: ArrayLike<number>, out: Uint32Array): void {
  let c0 = counter[0]! >>> 0;
  let c1 = counter[1]! >>> 0;
  let c2 = counter[2]! >>> 0;
  let c3 = counter[3]! >>> 0;
  let k0 = key[0]! >>> 0;
  let k1 = key[1]! >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulHi(M0_HI, M0_LO, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulHi(M1_HI, M1_LO, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** What a draw is for; part of the key, so the streams of different purposes are independent. */
export const Purpose = {
  /** Programming noise, one normal per device (element 2·column + device). */
  prog: 1,
  /** Drift exponents ν, one normal per device. */
  nu: 2,
  /** Accumulated 1/f noise at the inference time, one normal per device. */
  oneOverF: 3,
  /** Short-term read noise, one normal per output column per MVM. */
  read: 4,
  /** Output noise, one normal per output column per MVM. */
  out: 5,
} as const;
export type Purpose = (typeof Purpose)[keyof typeof Purpose];

/**
 * The coordinates of a stream of draws; the element index within the stream is the last one.
 * Philox key = (seed, purpose·2^24 + layer); counter = (element >> 1, row, block, inference).
 */
export interface StreamKey {
  readonly purpose: Purpose;
  /** Layer index in the mapping, < 2^24. */
  readonly layer: number;
  /** Block index within the layer (not the physical tile: a layer's draws do not move when other layers are packed differently). */
  readonly block: number;
  /** Crossbar row for device draws; the MVM's index within the inference for per-MVM draws. */
  readonly row: number;
  /** Inference (sample) index; 0 for device draws, which are fixed once the chip is programmed. */
  readonly inference: number;
}

const U32 = 2 ** 32;
const TWO_POW_53 = 2 ** 53;

function checkU32(v: number, what: string, limit = U32): void {
  if (!Number.isInteger(v) || v < 0 || v >= limit) {
    throw new HwacError("HW5103", `${what} must be an integer in [0, ${limit}), got ${v}`);
  }
}

const ctr = new Uint32Array(4);
const key = new Uint32Array(2);
const block = new Uint32Array(4);

/**
 * Fills `out[offset .. offset+count)` with standard normal draws number `first, first+1, …` of a
 * stream. Draws 2m and 2m+1 come from one Philox block (counter word 0 = m) by Box-Muller on two
 * 53-bit uniforms made of the block's four words w0–w3:
 *   u1 = ((w0 >> 5)·2^26 + (w1 >> 6) + 1) / 2^53 ∈ (0, 1],  u2 = ((w2 >> 5)·2^26 + (w3 >> 6)) / 2^53 ∈ [0, 1),
 *   z_2m = √(−2 ln u1)·cos(2π u2),  z_2m+1 = √(−2 ln u1)·sin(2π u2).
 * The largest |z| is √(106 ln 2) ≈ 8.6. A draw depends only on its coordinates, never on how the
 * fills are split or ordered.
 */
export function fillNormal(
  seed: number,
  s: StreamKey,
  first: number,
  out: Float64Array | Float32Array,
  offset = 0,
  count = out.length - offset,
): void {
  checkU32(seed, "the noise seed");
  checkU32(s.layer, "a layer index", 2 ** 24);
  checkU32(s.block, "a block index");
  checkU32(s.row, "a row or MVM index");
  checkU32(s.inference, "an inference index");
  if (!Number.isInteger(first) || first < 0 || first + count > 2 ** 33) {
    throw new HwacError("HW5103", `draw indices must lie in [0, 2^33), got ${first} … ${first + count - 1}`);
  }
  key[0] = seed;
  key[1] = s.purpose * 2 ** 24 + s.layer;
  ctr[1] = s.row;
  ctr[2] = s.block;
  ctr[3] = s.inference;
  const end = first + count;
  let o = offset;
  for (let e = first; e < end; ) {
    ctr[0] = Math.floor(e / 2);
    philox4x32_10(ctr, key, block);
    const u1 = ((block[0]! >>> 5) * 67108864 + (block[1]! >>> 6) + 1) / TWO_POW_53;
    const u2 = ((block[2]! >>> 5) * 67108864 + (block[3]! >>> 6)) / TWO_POW_53;
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    if (e % 2 === 0) {
      out[o++] = r * Math.cos(theta);
      e++;
      if (e === end) break;
    }
    out[o++] = r * Math.sin(theta);
    e++;
  }
}
