/**
 * `quantize`: a float model and calibration inputs in, a quantized model (hwac's quantized IR)
 * and its per-layer report out. The stages: prepare (freeze branch-selecting inputs, fold
 * constants and BatchNorm), calibrate (cached), quantize weights and activations, compare with
 * the float model.
 */
import type { Model } from "../../ir/graph.js";
import { reshape, type Tensor } from "../../ir/tensor.js";
import { verifyModel } from "../../ir/verify.js";
import { staticize, type PassOptions } from "../pipeline.js";
import { calibrate, channelMeanFn, rangeFn, type CalibrationResult } from "./calibrate.js";
import { codebookWeights } from "./codebook.js";
import { defaultConfig, schemeFor, type QuantConfig } from "./config.js";
import { hessianSource } from "./hessian.js";
import { quantizeModel, type QuantizeResult, type WeightFn } from "./quantize.js";
import { quantizeNorm } from "./norm.js";
import { quantizeGRU, quantizeLSTM } from "./recurrent.js";
import { quantizeWeights } from "./weights.js";

export interface QuantizeOptions extends PassOptions {
  /** The schemes (default: `defaultConfig()`, INT8 weights and activations). */
  config?: QuantConfig;
  /** A calibration computed before, or how to get one for the prepared model (e.g. from the cache). */
  calibration?: CalibrationResult | ((prepared: Model) => CalibrationResult);
  /** Percentile for the "percentile" method. */
  percentile?: number;
  /** Bind every dynamic dimension (for compiling to a static program) instead of keeping them. */
  static?: boolean;
  /** Correct biases for the mean error of quantized weights (default on). */
  biasCorrection?: boolean;
}

export interface Quantized extends QuantizeResult {
  /** The prepared float model the quantized one was made from (the reference for SQNR). */
  float: Model;
  calibration: CalibrationResult;
  /** What preparation decided by itself (frozen inputs). */
  notices: string[];
}

/**
 * The default weight quantizer: uniform per-channel grid or Lloyd-Max codebook, per the scheme.
 * GPTQ rounding needs per-channel scales and the layer's Hessian; without them it rounds to nearest.
 */
export const weightFn: WeightFn = (w, { scheme, axis, seed, hessian }) => {
  // Per-tensor weights are one channel of all elements.
  const flat = scheme.perChannel ? w : reshape(w, [1, w.data.length]);
  const ax = scheme.perChannel ? axis : 0;
  if (scheme.weightFormat === "codebook") {
    const r = codebookWeights(flat, { bits: scheme.weightBits, axis: ax, perChannel: scheme.perChannel });
    return { q: reshape(r.q, w.shape), scale: r.scale, clipped: 0 };
  }
  const clip = scheme.weightClip === "auto" ? (scheme.weightBits <= 4 ? "mse" : "minmax") : scheme.weightClip;
  const gptq = scheme.rounding === "gptq" && scheme.perChannel && hessian !== undefined;
  const rounding = gptq ? "gptq" : scheme.rounding === "gptq" ? "nearest" : scheme.rounding;
  const r = quantizeWeights(flat, { bits: scheme.weightBits, axis: ax, rounding, seed, clip, hessian });
  const clipped = r.clipped.reduce((a, b) => a + b, 0) / Math.max(1, r.clipped.length);
  return { q: reshape(r.q, w.shape), scale: r.scale, clipped };
};

export function quantize(model: Model, calibrationSets: readonly ReadonlyMap<string, Tensor>[], opts: QuantizeOptions = {}): Quantized {
  let prepared = staticize(model, { ...opts, calibrationSets, keepDynamic: !opts.static });
  // Branches on dynamic shapes hide their nodes from quantization: bind the shapes (from the
  // calibration sets) so the If nodes fold away.
  if (!opts.static && prepared.model.graph.nodes.some((n) => n.op === "If")) {
    prepared = staticize(model, { ...opts, calibrationSets });
  }
  const float = prepared.model;
  const given = opts.calibration;
  const calibration = typeof given === "function" ? given(float) : (given ?? calibrate(float, calibrationSets));
  const config = opts.config ?? defaultConfig();
  const result = quantizeModel(
    float,
    rangeFn(calibration, opts.percentile),
    config,
    weightFn,
    {
      LSTM: quantizeLSTM,
      GRU: quantizeGRU,
      LayerNormalization: quantizeNorm,
      InstanceNormalization: quantizeNorm,
    },
    opts.biasCorrection === false ? undefined : channelMeanFn(calibration),
    hessianSource(float, calibrationSets, (n) => schemeFor(config, n).rounding === "gptq"),
  );
  verifyModel(result.model);
  return { ...result, float, calibration, notices: prepared.notices };
}
