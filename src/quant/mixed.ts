/**
 * Automatic mixed precision: each weighted layer's sensitivity is the model's output SQNR when
 * only that layer's weights are lowered; layers are then lowered from the least sensitive on, as
 * many as keep the output SQNR at or above a target (binary search over how many), and/or until
 * the weights fit a size budget. The rest stay at the high width.
 */
import type { Model } from "../../ir/graph.js";
import type { Tensor } from "../../ir/tensor.js";
import { defaultConfig, type QuantConfig } from "./config.js";
import { quantize, type Quantized, type QuantizeOptions } from "./index.js";
import { compareModels } from "./report.js";

export interface MixedOptions {
  /** Width of lowered layers (e.g. 4). */
  lowBits: number;
  /** Width of the layers kept (8). */
  highBits: number;
  /** Lowest acceptable output SQNR (dB), the minimum over outputs. */
  targetSqnrDb?: number;
  /** Largest acceptable total weight size in bytes (at the chosen widths, packed). */
  maxWeightBytes?: number;
}

export interface MixedResult {
  quantized: Quantized;
  config: QuantConfig;
  /** Per weighted layer: output SQNR with only that layer lowered, most robust first. */
  sensitivity: { node: string; outputSqnrDb: number }[];
  lowered: string[];
  outputSqnrDb: number;
}

function withLowered(base: QuantConfig, nodes: readonly string[], lowBits: number, highBits: number): QuantConfig {
  return {
    ...base,
    default: { ...base.default, weightBits: highBits },
    overrides: [...base.overrides, ...nodes.map((name) => ({ match: { name }, scheme: { weightBits: lowBits } }))],
  };
}

function outputSqnr(q: Quantized, sets: readonly ReadonlyMap<string, Tensor>[]): number {
  const c = compareModels(q.float, q.model, q.quantizedValues, sets);
  return Math.min(...c.outputs.map((o) => o.sqnrDb));
}

/** Bytes of the weighted layers' weights at their widths (sub-byte widths packed). */
function weightBytes(q: Quantized, weights: ReadonlyMap<string, number>): number {
  return q.layers.reduce((acc, l) => acc + (l.weightBits ? Math.ceil(((weights.get(l.node) ?? 0) * l.weightBits) / 8) : 0), 0);
}

export function mixedPrecision(
  model: Model,
  sets: readonly ReadonlyMap<string, Tensor>[],
  base: QuantizeOptions,
  opts: MixedOptions,
): MixedResult {
  const baseConfig = base.config ?? defaultConfig();
  const high = quantize(model, sets, { ...base, config: withLowered(baseConfig, [], opts.lowBits, opts.highBits) });
  const shared = { ...base, calibration: high.calibration };
  const weighted = high.layers.filter((l) => l.weightBits !== undefined).map((l) => l.node);
  const weightCount = countWeights(high, weighted);
  const sensitivity = weighted
    .map((node) => {
      const q = quantize(model, sets, { ...shared, config: withLowered(baseConfig, [node], opts.lowBits, opts.highBits) });
      return { node, outputSqnrDb: outputSqnr(q, sets) };
    })
    .sort((a, b) => b.outputSqnrDb - a.outputSqnrDb || a.node.localeCompare(b.node));
  const order = sensitivity.map((s) => s.node);
  const build = (k: number) => {
    const config = withLowered(baseConfig, order.slice(0, k), opts.lowBits, opts.highBits);
    const quantized = quantize(model, sets, { ...shared, config });
    return { k, config, quantized, sqnr: outputSqnr(quantized, sets) };
  };
  const fitsSqnr = (b: ReturnType<typeof build>) => opts.targetSqnrDb === undefined || b.sqnr >= opts.targetSqnrDb;
  // Largest k meeting the SQNR target (SQNR falls as more layers are lowered).
  let lo = 0;
  let hi = order.length;
  let best = { k: 0, config: withLowered(baseConfig, [], opts.lowBits, opts.highBits), quantized: high, sqnr: outputSqnr(high, sets) };
  if (opts.targetSqnrDb !== undefined) {
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const b = build(mid);
      if (fitsSqnr(b)) {
        lo = mid;
        best = b;
      } else {
        hi = mid - 1;
      }
    }
  } else {
    best = build(order.length);
  }
  // With a size budget and no SQNR target, lower only as many layers as the budget needs.
  if (opts.maxWeightBytes !== undefined && opts.targetSqnrDb === undefined) {
    for (let k = 0; k <= order.length; k++) {
      const b = k === order.length ? best : build(k);
      if (weightBytes(b.quantized, weightCount) <= opts.maxWeightBytes) {
        best = b;
        break;
      }
    }
  }
  return {
    quantized: best.quantized,
    config: best.config,
    sensitivity,
    lowered: order.slice(0, best.k),
    outputSqnrDb: best.sqnr,
  };
}

function countWeights(q: Quantized, nodes: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const n of q.model.graph.nodes) {
    if (!nodes.includes(n.name)) continue;
    const w = q.model.graph.initializers.get(n.inputs[1] ?? "");
    if (w) out.set(n.name, w.data.length);
  }
  return out;
}
