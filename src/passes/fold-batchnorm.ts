/**
 * Folds inference-mode BatchNormalization into the Conv before it:
 *   c = Conv(x, W, b); y = BatchNormalization(c, γ, β, μ, σ²)   →   y = Conv(x, W', b')
 * with a = γ/√(σ²+ε) per output channel, W'[k,…] = W[k,…]·a[k], b'[k] = (b[k] − μ[k])·a[k] + β[k],
 * computed in float64 and stored in W's type. It applies when nothing else reads c and W, b and
 * the statistics are initializers; any other BatchNormalization stays (the quantizer keeps it float).
 * W and b keep their names when only this Conv reads them, else the folded ones get fresh names.
 */
import { isFloat } from "../../ir/dtype.js";
import { defaultOpset, type Model, type Node } from "../../ir/graph.js";
import { attrsOf } from "../../ir/op.js";
import { fromFloat64, numel, toFloat64 } from "../../ir/tensor.js";
import { allNames, freshName, readCounts } from "./rewrite.js";

export function foldBatchNorm(model: Model): Model {
  const g = model.graph;
  const opset = defaultOpset(model);
  const reads = readCounts(g);
  const producer = new Map<string, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const initializers = new Map(g.initializers);
  const taken = allNames(g).values;
  /** Conv nodes to replace, and the BatchNormalization nodes folded into them. */
  const replaced = new Map<Node, Node>();
  const folded = new Set<Node>();

  for (const bn of g.nodes) {
    if (bn.op !== "BatchNormalization" || bn.domain !== "" || !inferenceMode(bn, opset, reads)) continue;
    const conv = producer.get(bn.inputs[0]!);
    if (!conv || conv.op !== "Conv" || conv.domain !== "" || replaced.has(conv) || reads.get(conv.outputs[0]!) !== 1) continue;
    const [wName, bName = ""] = conv.inputs.slice(1);
    const w = initializers.get(wName!);
    const params = bn.inputs.slice(1, 5).map((n) => initializers.get(n));
    const bias = bName === "" ? undefined : initializers.get(bName);
    if (!w || !isFloat(w.dtype) || (bName !== "" && !bias) || params.length < 4 || params.some((p) => !p)) continue;
    const cout = w.shape[0]!;
    if (params.some((p) => numel(p!.shape) !== cout) || (bias && numel(bias.shape) !== cout)) continue;

    const [gamma, beta, mean, variance] = params.map((p) => toFloat64(p!));
    const eps = attrsOf(bn).float("epsilon", 1e-5);
    const a = new Float64Array(cout);
    const b = new Float64Array(cout);
    const b0 = bias ? toFloat64(bias) : new Float64Array(cout);
    for (let k = 0; k < cout; k++) {
      a[k] = gamma![k]! / Math.sqrt(variance![k]! + eps);
      b[k] = (b0[k]! - mean![k]!) * a[k]! + beta![k]!;
    }
    const wv = toFloat64(w);
    const perChannel = wv.length / cout;
    const scaled = new Float64Array(wv.length);
    for (let i = 0; i < wv.length; i++) scaled[i] = wv[i]! * a[Math.floor(i / perChannel)]!;

    const own = (name: string): string => (reads.get(name) === 1 ? name : freshName(`${name}_bn`, taken));
    const newW = own(wName!);
    const newB = bias ? own(bName) : freshName(`${wName}_bias`, taken);
    initializers.set(newW, fromFloat64(w.dtype, w.shape, scaled));
    initializers.set(newB, fromFloat64(bias?.dtype ?? w.dtype, [cout], b));
    replaced.set(conv, { ...conv, inputs: [conv.inputs[0]!, newW, newB], outputs: [bn.outputs[0]!] });
    folded.add(bn);
  }
  if (folded.size === 0) return model;
  const nodes = g.nodes.filter((n) => !folded.has(n)).map((n) => replaced.get(n) ?? n);
  return { ...model, graph: { ...g, nodes, initializers } };
}

/** BatchNormalization normalizing with its stored statistics, one per channel, and no statistics output read. */
function inferenceMode(bn: Node, opset: number, reads: ReadonlyMap<string, number>): boolean {
  const attrs = attrsOf(bn);
  if (opset >= 14 && attrs.int("training_mode", 0) !== 0) return false;
  if (opset < 9 && attrs.int("spatial", 1) === 0) return false;
  return bn.outputs.slice(1).every((o) => o === "" || !reads.get(o));
}
