/**
 * One mapped block on a crossbar: programming its devices, its effective weights at the inference
 * time, and one analog MVM in the order of SPEC.md §4 (after the DAC): MVM over the effective
 * weights → IR drop → read noise → output noise → ADC. The digital periphery (the r_in, column
 * scale and drift-compensation multipliers, block accumulation, bias) belongs to the interpreter.
 *
 * Layouts: a block is row-major [row j = input][column i = output], rows × cols, like the crossbar
 * (docs/aimc-format.md). Devices are interleaved: G+ of cell k = j·cols + i at 2k, G− at 2k + 1,
 * so the device draws of crossbar row j are elements 2i + d of the stream with row = j.
 */
import { clamp, roundHalfEven } from "../../ir/numeric.js";
import { levels, type AimcConfig } from "./config.js";
import {
  addOutputNoise, applyProgrammingNoise, conductanceAt, driftCompensation, irDropFromSums, productAndSums, readNoiseFromSums,
  sampleNu, type Units,
} from "./noise.js";
import { fillNormal, Purpose, type StreamKey } from "./rng.js";

/** The coordinates that key a block's draws: its layer index and its block index in the layer. */
export interface BlockId {
  readonly layer: number;
  readonly block: number;
}

/** A block after programming (t = 0). */
export interface ProgrammedBlock {
  readonly id: BlockId;
  readonly rows: number;
  readonly cols: number;
  /** The largest weight code (127 for int8, 7 for int4): a code of ±qW programs g_max. */
  readonly qW: number;
  readonly codes: Int8Array;
  /** Conductances after programming noise, µS, devices interleaved. */
  readonly gProg: Float64Array;
  /** Drift exponents per device, present when drift is on. */
  readonly nu: Float64Array | undefined;
}

/** Inference indices reserved for the drift-compensation reads (at programming time and at t). */
export const READOUT_REF = 2 ** 32 - 2;
export const READOUT_NOW = 2 ** 32 - 1;

/** Device draws of every row of a block: stream (purpose, layer, block, row j, inference 0), elements 0 … 2·cols − 1. */
function deviceNormals(seed: number, purpose: Purpose, b: { id: BlockId; rows: number; cols: number }): Float64Array {
  const z = new Float64Array(2 * b.rows * b.cols);
  for (let j = 0; j < b.rows; j++) {
    const key: StreamKey = { purpose, layer: b.id.layer, block: b.id.block, row: j, inference: 0 };
    fillNormal(seed, key, 0, z, 2 * j * b.cols, 2 * b.cols);
  }
  return z;
}

/**
 * Programs a block of signed weight codes as differential pairs (G+ = max(w, 0)·g_max/qW,
 * G− = max(−w, 0)·g_max/qW), with programming noise and drift exponents drawn when switched on.
 */
export function programBlock(
  codes: Int8Array, rows: number, cols: number, qW: number, c: AimcConfig, seed: number, id: BlockId,
): ProgrammedBlock {
  const gMax = c.conductance.gMax;
  const gTarget = new Float64Array(2 * rows * cols);
  for (let k = 0; k < rows * cols; k++) {
    const g = (Math.abs(codes[k]!) * gMax) / qW;
    gTarget[2 * k + (codes[k]! < 0 ? 1 : 0)] = g;
  }
  const b = { id, rows, cols };
  const gProg = gTarget.slice();
  if (c.noise.prog) applyProgrammingNoise(gProg, deviceNormals(seed, Purpose.prog, b), c.programming, gMax);
  let nu: Float64Array | undefined;
  if (c.noise.drift) {
    nu = new Float64Array(gTarget.length);
    sampleNu(gTarget, deviceNormals(seed, Purpose.nu, b), nu, c.drift, gMax);
  }
  return { id, rows, cols, qW, codes, gProg, nu };
}

/**
 * Effective weights in code units, (G+ − G−)·qW/g_max, t seconds after programming. Without
 * programming noise or drift they are the codes themselves, so the noiseless MVM is exact.
 */
export function weightsAt(pb: ProgrammedBlock, t: number, c: AimcConfig, seed: number): Float64Array {
  const n = pb.rows * pb.cols;
  const w = new Float64Array(n);
  const drifts = pb.nu !== undefined && t > 0;
  if (!c.noise.prog && !drifts) {
    for (let k = 0; k < n; k++) w[k] = pb.codes[k]!;
    return w;
  }
  let g = pb.gProg;
  if (drifts) {
    g = new Float64Array(2 * n);
    conductanceAt(pb.gProg, pb.nu!, deviceNormals(seed, Purpose.oneOverF, pb), g, t, c);
  }
  const s = pb.qW / c.conductance.gMax;
  for (let k = 0; k < n; k++) w[k] = (g[2 * k]! - g[2 * k + 1]!) * s;
  return w;
}

/** Which MVM of which inference: keys the per-MVM draws (stream row = mvm). */
export interface MvmKey {
  readonly mvm: number;
  readonly inference: number;
}

/** The block's converters and code units. */
export interface Converters {
  readonly units: Units;
  /** ADC levels each side. */
  readonly qA: number;
  /** ADC code = y·num/den for y in code units; both exact integers for integer bounds, so ties round exactly. */
  readonly num: number;
  readonly den: number;
}

export function converters(c: AimcConfig, qW: number): Converters {
  const qDac = levels(c.dac.bits);
  const qA = levels(c.adc.bits);
  return { units: { w: qW, x: qDac / c.dac.bound }, qA, num: qA * c.dac.bound, den: qW * qDac * c.adc.bound };
}

/** Per-MVM work arrays, grown as needed and reused: an MVM allocates nothing. */
let y = new Float64Array(0);
let z = new Float64Array(0);
let sums = new Float64Array(0);
function reserve(cols: number): void {
  if (y.length >= cols) return;
  y = new Float64Array(cols);
  z = new Float64Array(cols);
  sums = new Float64Array(3 * cols);
}
const stream: { -readonly [K in keyof StreamKey]: StreamKey[K] } = { purpose: Purpose.read, layer: 0, block: 0, row: 0, inference: 0 };

/**
 * One analog MVM: `x` holds the block's DAC codes (rows), `out` receives its ADC codes (cols):
 * y = Σ_j W_j·X_j, then IR drop, read noise and output noise as switched on, then
 * ADC code = clamp(roundHalfEven(y·num/den), ±qA). With everything off this is
 * clamp(roundHalfEven(acc/1270), ±127) for 8-bit converters and out_bound 10. With IR drop or read
 * noise on, one pass over the weights gathers the product and their column sums (noise.ts).
 */
export function mvm(
  w: Float64Array, rows: number, cols: number, x: Float64Array, out: Int32Array,
  c: AimcConfig, cv: Converters, seed: number, id: BlockId, key: MvmKey,
): void {
  reserve(cols);
  const irdrop = c.noise.irdrop && c.irDrop.factor > 0;
  const read = c.noise.read && c.readNoise.wNoise > 0;
  y.fill(0, 0, cols);
  if (irdrop || read) productAndSums(y, w, x, rows, cols, sums);
  else {
    for (let j = 0; j < rows; j++) {
      const xj = x[j]!;
      if (xj === 0) continue;
      const base = j * cols;
      for (let i = 0; i < cols; i++) y[i] = y[i]! + w[base + i]! * xj;
    }
  }
  if (irdrop) irDropFromSums(y, sums, 0, sums, cols, rows, c.irDrop, cv.units, cols);
  stream.layer = id.layer;
  stream.block = id.block;
  stream.row = key.mvm;
  stream.inference = key.inference;
  if (read) {
    stream.purpose = Purpose.read;
    fillNormal(seed, stream, 0, z, 0, cols);
    readNoiseFromSums(y, sums, 2 * cols, c.readNoise.wNoise, cv.units, z, cols);
  }
  if (c.noise.out && c.outNoise.sigma > 0) {
    stream.purpose = Purpose.out;
    fillNormal(seed, stream, 0, z, 0, cols);
    addOutputNoise(y, c.outNoise.sigma, cv.units, z, cols);
  }
  for (let i = 0; i < cols; i++) out[i] = clamp(roundHalfEven((y[i]! * cv.num) / cv.den), -cv.qA, cv.qA);
}

/**
 * mean |Y| in normalised units of the block read with the identity input (one full-scale DAC
 * code per row in turn, aihwkit's eye(in_size) readout) through the whole MVM path; `inference`
 * is READOUT_REF at programming time or READOUT_NOW at the inference time.
 */
export function identityReadout(
  w: Float64Array, rows: number, cols: number, qW: number, c: AimcConfig, seed: number, id: BlockId, inference: number,
): number {
  const cv = converters(c, qW);
  const x = new Float64Array(rows);
  const out = new Int32Array(cols);
  let sum = 0;
  for (let j = 0; j < rows; j++) {
    x[j] = levels(c.dac.bits);
    mvm(w, rows, cols, x, out, c, cv, seed, id, { mvm: j, inference });
    for (let i = 0; i < cols; i++) sum += Math.abs(out[i]!);
    x[j] = 0;
  }
  return (sum * c.adc.bound) / (cv.qA * rows * cols);
}

/**
 * The block's global drift compensation factor α = mean|Y_0| / mean|Y_t| (1 when compensation
 * or drift is off), applied digitally to its ADC codes; `wt` are its weights at t (weightsAt).
 */
export function compensationFactor(pb: ProgrammedBlock, wt: Float64Array, t: number, c: AimcConfig, seed: number): number {
  if (!c.drift.compensation || pb.nu === undefined || t <= 0) return 1;
  const read = (w: Float64Array, inference: number) => identityReadout(w, pb.rows, pb.cols, pb.qW, c, seed, pb.id, inference);
  return driftCompensation(read(weightsAt(pb, 0, c, seed), READOUT_REF), read(wt, READOUT_NOW));
}
