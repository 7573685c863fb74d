/**
 * The device and circuit models of the AIMC chip (SPEC.md §4), as pure functions over typed
 * arrays; the normal draws come in as arrays (rng.ts), so every function here is deterministic.
 *
 * Two groups:
 * - conductance models, in µS, as aihwkit's PCMLikeNoiseModel: programming noise, drift exponents,
 *   drift, accumulated 1/f noise;
 * - MVM models, applied to a block's outputs in the order of aihwkit's C++ forward pass
 *   (rpu_forward_backward_pass.cpp): IR drop, then short-term read noise, then output noise.
 *
 * Units of the MVM models. aihwkit works in normalised units: weights w ∈ [−1, 1] (w = ±1 at
 * g_max), inputs x ∈ [−inp_bound, inp_bound]. The simulator keeps weights and inputs in code units
 * (W = w·qW with qW the largest weight code, X = x·qX with qX = DAC levels / inp_bound) so that the
 * noiseless MVM Σ W·X is an exact integer; `Units` carries qW and qX, and every function returns its
 * effect in code units of the output (normalised output × qW·qX).
 */
import type { AimcConfig } from "./config.js";

type Floats = Float64Array | Float32Array;

/** Codes per normalised unit of the weights (qW) and of the inputs (qX). */
export interface Units {
  readonly w: number;
  readonly x: number;
}

/** Below this g/g_max a device counts as this (aihwkit's _ZERO_CLIP), so ln g_rel stays finite. */
const ZERO_CLIP = 1e-7;

// ---------------------------------------------------------------------------------------------
// Conductance models (µS)

/** σ (µS) of the programming noise at target conductance g: Σ c_i (g/g_max)^i · g_max/coeffsGMax. */
export function progSigma(g: number, p: AimcConfig["programming"], gMax: number): number {
  const r = g / gMax;
  let s = 0;
  let pow = 1;
  for (const c of p.coeffs) {
    s += c * pow;
    pow *= r;
  }
  return (s * gMax) / p.coeffsGMax;
}

/** In place: g ← max(0, g + σ(g)·z), once per programming. */
export function applyProgrammingNoise(g: Floats, z: Floats, p: AimcConfig["programming"], gMax: number): void {
  for (let i = 0; i < g.length; i++) g[i] = Math.max(0, g[i]! + progSigma(g[i]!, p, gMax) * z[i]!);
}

type ClampedLog = AimcConfig["drift"]["nuMean"];

function clampedLog(f: ClampedLog, lnG: number): number {
  const v = f.slope * lnG + f.intercept;
  return v < f.min ? f.min : v > f.max ? f.max : v;
}

/** μ_ν at g_rel = g/g_max: clamp(−0.0155·ln g_rel + 0.0244, 0.049, 0.1) by default. */
export function nuMean(gRel: number, d: AimcConfig["drift"]): number {
  return clampedLog(d.nuMean, Math.log(Math.max(Math.abs(gRel), ZERO_CLIP)));
}

/** σ_ν at g_rel: clamp(−0.0125·ln g_rel − 0.0059, 0.008, 0.045) by default. */
export function nuStd(gRel: number, d: AimcConfig["drift"]): number {
  return clampedLog(d.nuStd, Math.log(Math.max(Math.abs(gRel), ZERO_CLIP)));
}

/** Drift exponents from the target conductances: ν = |μ_ν + σ_ν·z| (aihwkit folds negative draws). */
export function sampleNu(gTarget: Floats, z: Floats, out: Floats, d: AimcConfig["drift"], gMax: number): void {
  for (let i = 0; i < gTarget.length; i++) {
    const lnG = Math.log(Math.max(Math.abs(gTarget[i]! / gMax), ZERO_CLIP));
    out[i] = Math.abs(clampedLog(d.nuMean, lnG) + clampedLog(d.nuStd, lnG) * z[i]!);
  }
}

/** g(t)/g(0) = ((t + t0)/t0)^(−ν), t in seconds after programming. */
export function driftFactor(nu: number, t: number, t0: number): number {
  return Math.exp(-nu * Math.log((t + t0) / t0));
}

/** The conductance part of the 1/f noise: min(max, coeff / max(gRelMin, g_rel^exponent)). */
function oneOverFLevel(gRel: number, p: AimcConfig["oneOverF"]): number {
  return Math.min(p.max, p.coeff / Math.max(p.gRelMin, Math.abs(gRel) ** p.exponent));
}

/** The time part of the 1/f noise: √ln((elapsed + t_read)/(2·t_read)). */
function oneOverFTime(elapsed: number, p: AimcConfig["oneOverF"]): number {
  return Math.sqrt(Math.log((elapsed + p.tRead) / (2 * p.tRead)));
}

/** σ_rel of the 1/f noise accumulated since programming started, `elapsed` seconds ago. */
export function oneOverFSigma(gRel: number, elapsed: number, p: AimcConfig["oneOverF"]): number {
  return oneOverFLevel(gRel, p) * oneOverFTime(elapsed, p);
}

/**
 * The conductances t seconds after programming, as aihwkit's apply_drift_noise_to_conductance:
 * g_d = g_prog·((t + t0)/t0)^(−ν), then g = max(0, g_d + |g_d|·σ_rel(g_prog)·z) with the 1/f noise
 * counted from the start of programming (elapsed time t + t0, as aihwkit does). At t = 0 the
 * conductances are g_prog.
 */
export function conductanceAt(gProg: Floats, nu: Floats, z: Floats, out: Floats, t: number, c: AimcConfig): void {
  if (t <= 0) {
    out.set(gProg);
    return;
  }
  const gMax = c.conductance.gMax;
  const time = oneOverFTime(t + c.drift.t0, c.oneOverF);
  for (let i = 0; i < gProg.length; i++) {
    const g = gProg[i]!;
    const gd = g * driftFactor(nu[i]!, t, c.drift.t0);
    out[i] = Math.max(0, gd + Math.abs(gd) * oneOverFLevel(g / gMax, c.oneOverF) * time * z[i]!);
  }
}

// ---------------------------------------------------------------------------------------------
// MVM models (code units; W is the block, row-major [row = input j][column = output i])

/**
 * The IR-drop coefficient c(a) = a·(a·(0.05·a − 0.2) + 0.5) of aihwkit's steady-state
 * approximation, where a = n·Σ_j |w_ij|·|x_j| / g_ratio in normalised units for n rows.
 * An all-on 512-row column (w = x = 1) has a = 512²/g_ratio = 0.4588 and c = 0.1921.
 */
export function irDropCoefficient(a: number): number {
  return a * (a * (0.05 * a - 0.2) + 0.5);
}

/**
 * One pass over a block's weights for the product and the column sums IR drop and read noise
 * need: y[i] += Σ_j W_ij·X_j, and in `sums` (3·cols values) [0, cols) Σ_j |W_ij|·|X_j|,
 * [cols, 2cols) Σ_j W_ij·X_j·(1 − (1 − j/n)²), [2cols, 3cols) Σ_j |W_ij|·X_j². Rows whose input is 0
 * are skipped (a one-hot read costs O(columns)).
 */
export function productAndSums(y: Floats, w: Floats, x: Floats, rows: number, cols: number, sums: Float64Array): void {
  sums.fill(0, 0, 3 * cols);
  for (let j = 0; j < rows; j++) {
    const xj = x[j]!;
    if (xj === 0) continue;
    const p = 1 - j / rows;
    const xWeighted = xj * (1 - p * p);
    const xAbs = Math.abs(xj);
    const x2 = xj * xj;
    const base = j * cols;
    for (let i = 0; i < cols; i++) {
      const wij = w[base + i]!;
      const wAbs = Math.abs(wij);
      y[i] = y[i]! + wij * xj;
      sums[i] = sums[i]! + wAbs * xAbs;
      sums[cols + i] = sums[cols + i]! + wij * xWeighted;
      sums[2 * cols + i] = sums[2 * cols + i]! + wAbs * x2;
    }
  }
}

/** Work arrays of the stand-alone IR drop and read noise below: a throw-away product and the sums. */
let work = new Float64Array(0);
function columnSums(w: Floats, x: Floats, rows: number, cols: number): Float64Array {
  if (work.length < 4 * cols) work = new Float64Array(4 * cols);
  const product = work.subarray(3 * cols, 4 * cols);
  product.fill(0);
  productAndSums(product, w, x, rows, cols, work);
  return work;
}

/**
 * IR drop on the block's outputs (aihwkit applyIrDrop): y_i −= factor·c(a_i)·Σ_j W_ij·X_j·(1 − (1 − j/n)²),
 * the row weighting modelling the wire's growing voltage loss away from the drivers.
 */
export function applyIrDrop(y: Floats, w: Floats, x: Floats, rows: number, cols: number, ir: AimcConfig["irDrop"], u: Units): void {
  const sums = columnSums(w, x, rows, cols);
  irDropFromSums(y, sums, 0, sums, cols, rows, ir, u, cols);
}

/**
 * The IR drop from its two column sums: `absSum[a0 + i]` = Σ_j |W_ij|·|X_j| and
 * `weighted[w0 + i]` = Σ_j W_ij·X_j·(1 − (1 − j/n)²) — so a caller summing them in its own pass
 * over the weights (`productAndSums`) shares the formula.
 */
export function irDropFromSums(
  y: Floats, absSum: Floats, a0: number, weighted: Floats, w0: number, rows: number, ir: AimcConfig["irDrop"], u: Units, cols = y.length,
): void {
  const aScale = rows / (ir.gRatio * u.w * u.x);
  for (let i = 0; i < cols; i++) {
    y[i] = y[i]! - ir.factor * irDropCoefficient(aScale * absSum[a0 + i]!) * weighted[w0 + i]!;
  }
}

/**
 * Short-term read noise (aihwkit PCM_READ): y_i += w_noise·√(Σ_j |w_ij|·x_j²)·z_i in normalised
 * units, which in code units is w_noise·√(qW·Σ_j |W_ij|·X_j²)·z_i.
 */
export function addReadNoise(y: Floats, w: Floats, x: Floats, rows: number, cols: number, wNoise: number, u: Units, z: Floats): void {
  readNoiseFromSums(y, columnSums(w, x, rows, cols), 2 * cols, wNoise, u, z, cols);
}

/** The read noise from its column sums `sq[s0 + i]` = Σ_j |W_ij|·X_j² (see irDropFromSums). */
export function readNoiseFromSums(y: Floats, sq: Floats, s0: number, wNoise: number, u: Units, z: Floats, cols = y.length): void {
  for (let i = 0; i < cols; i++) y[i] = y[i]! + wNoise * Math.sqrt(u.w * sq[s0 + i]!) * z[i]!;
}

/** Output noise: y_i += σ·z_i, σ in normalised units. */
export function addOutputNoise(y: Floats, sigma: number, u: Units, z: Floats, cols = y.length): void {
  const s = sigma * u.w * u.x;
  for (let i = 0; i < cols; i++) y[i] = y[i]! + s * z[i]!;
}

/** Readouts below this mean |y| (normalised) count as this, as aihwkit's GlobalDriftCompensation clamps. */
export const READOUT_FLOOR = 1e-4;

/** Global drift compensation α = mean|Y_0| / mean|Y_t|, both in normalised units. */
export function driftCompensation(meanAbsRef: number, meanAbsNow: number): number {
  return Math.max(meanAbsRef, READOUT_FLOOR) / Math.max(meanAbsNow, READOUT_FLOOR);
}
