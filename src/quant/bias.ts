/**
 * Float parameters of weighted layers on their way to integers: Gemm's alpha/beta folding,
 * bias correction, and int32 bias quantization.
 */
import type { Node, QuantParams } from "../../ir/graph.js";
import { perAxisLayout } from "../../ir/kernels/quantize.js";
import { clamp, roundHalfEven } from "../../ir/numeric.js";
import { tensor, toFloat64, type Tensor } from "../../ir/tensor.js";
import type { LayerHessian } from "./gptq.js";

export function scaled(t: Tensor, k: number): Tensor {
  const x = toFloat64(t);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! * k;
  return tensor("float32", t.shape, out);
}

/** Bias to int32 with scale s_x·s_w[c] per output channel (the last axis of a bias is its channel). */
export function quantizeBias(b: Tensor, sx: number, sw: Float32Array): { q: Tensor; quant: QuantParams } {
  const x = toFloat64(b);
  const n = x.length;
  const scale = new Float32Array(sw.length);
  for (let c = 0; c < sw.length; c++) scale[c] = sx * sw[c]!;
  const q = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const s = sx * sw[sw.length === 1 ? 0 : i % sw.length]!;
    q[i] = clamp(roundHalfEven(x[i]! / s), -2147483648, 2147483647);
  }
  return {
    q: tensor("int32", b.shape, q),
    quant: { scale, zeroPoint: new Int32Array(sw.length), axis: b.shape.length - 1 },
  };
}

/**
 * Bias correction (Nagel et al., "Data-Free Quantization", 2019): quantized weights shift every
 * output by Σ Δw·x on average, Δw = s·q − w; with the calibrated per-channel input mean μ that is
 * Σ Δw·μ per output channel, which the bias can absorb. Matters when inputs have a large mean
 * that the weights cancel (offset features, post-ReLU activations). Returns undefined when the
 * layer's input layout does not give per-input-channel means (Gemm with transA).
 */
export function biasCorrection(
  node: Node,
  w: Tensor,
  q: Tensor,
  scale: Float32Array,
  axis: number,
  mean: readonly number[],
): Float64Array | undefined {
  const wf = toFloat64(w);
  const qf = toFloat64(q);
  const intAttr = (name: string, d: number) => (node.attrs[name]?.kind === "int" ? (node.attrs[name] as { value: number }).value : d);
  if (node.op === "Conv") {
    const cout = w.shape[0]!;
    const cinG = w.shape[1]!;
    const k = wf.length / (cout * cinG);
    const group = intAttr("group", 1);
    if (mean.length !== cinG * group) return undefined;
    const delta = new Float64Array(cout);
    for (let co = 0; co < cout; co++) {
      const g = Math.floor(co / (cout / group));
      let d = 0;
      for (let ci = 0; ci < cinG; ci++) {
        const mu = mean[g * cinG + ci]!;
        for (let j = 0, i = (co * cinG + ci) * k; j < k; j++, i++) d += (scale[co]! * qf[i]! - wf[i]!) * mu;
      }
      delta[co] = d;
    }
    return delta;
  }
  if (node.op !== "Gemm" || intAttr("transA", 0) !== 0 || w.shape.length !== 2) return undefined;
  // B is [K, N] (axis 1 = N) or, with transB, [N, K] (axis 0 = N).
  const [r, c] = w.shape as [number, number];
  const n = axis === 1 ? c : r;
  const kk = axis === 1 ? r : c;
  if (mean.length !== kk) return undefined;
  const delta = new Float64Array(n);
  for (let o = 0; o < n; o++) {
    let d = 0;
    for (let k = 0; k < kk; k++) {
      const i = axis === 1 ? k * c + o : o * c + k;
      d += (scale[o]! * qf[i]! - wf[i]!) * mean[k]!;
    }
    delta[o] = d;
  }
  return delta;
}

/**
 * Bias correction with the exact mean x̄ of the rows the weights multiply (a Hessian's sums, in
 * the order of a channel's weights; for a Conv this sees the padding's zeros, which per-channel
 * means cannot): Σ_k (s·q − w)_k·x̄_k per output channel. Undefined when no row was seen.
 */
export function meanCorrection(w: Tensor, q: Tensor, scale: Float32Array, axis: number, h: LayerHessian): Float64Array | undefined {
  if (h.count === 0) return undefined;
  const { outer, axisLen, inner } = perAxisLayout(w.shape, axis);
  const wf = w.data as Float32Array;
  const qf = q.data as Int8Array;
  const delta = new Float64Array(axisLen);
  for (let c = 0; c < axisLen; c++) {
    const sums = h.sums[Math.floor(c / h.channelsPerGroup)]!;
    let d = 0;
    for (let o = 0, e = 0; o < outer; o++) {
      for (let j = 0, i = (o * axisLen + c) * inner; j < inner; j++, i++, e++) d += (scale[c]! * qf[i]! - wf[i]!) * sums[e]!;
    }
    delta[c] = d / h.count;
  }
  return delta;
}

export function subtract(b: Tensor, delta: Float64Array): Tensor {
  const x = toFloat64(b);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! - delta[delta.length === x.length ? i : i % delta.length]!;
  return tensor("float32", b.shape, out);
}
