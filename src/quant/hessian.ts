/**
 * The Hessians GPTQ rounding needs (gptq.ts): for every constant weight of a Conv, Gemm, MatMul,
 * LSTM or GRU, H = Σ x·xᵀ over the rows x it multiplies on the calibration inputs, in the order of
 * one output channel's weights, from runs of the float model. The rows: Conv's im2col columns per
 * group; Gemm's and MatMul's rows of A; a recurrent W's inputs x_t and R's previous hidden states
 * h_{t−1} (initial_h, then Y), per direction — a bidirectional layer's channel holds both
 * directions' weights, so its H is block diagonal.
 *
 * A Hessian is K² float64 (170 MB for a 3×3 convolution over 512 channels), so a large model's
 * do not fit in memory together: they are computed in waves, each of consecutive weights whose
 * Hessians fit `HESSIAN_BUDGET`, one float run over the calibration sets per wave, as the
 * quantizer asks for them in graph order. Only the lower triangle (row ≥ column) is accumulated,
 * with the rows' sum and count (for the mean).
 */
import { attrsOf } from "../../ir/op.js";
import type { Model, Node } from "../../ir/graph.js";
import { runModel } from "../../ir/interpret.js";
import { convKernel, forwardWindow, readWindowAttrs, windowPositions } from "../../ir/kernels/conv-geometry.js";
import { floatData, sgemm, view, type FloatArray, type Mat } from "../../ir/kernels/gemm.js";
import { im2col } from "../../ir/kernels/im2col.js";
import { numel, type Tensor } from "../../ir/tensor.js";
import type { LayerHessian } from "./gptq.js";

/** Bytes of Hessians held at once. */
export const HESSIAN_BUDGET = 256 * 2 ** 20;
/**
 * Weights of more inputs per output channel than this are rounded to nearest: GPTQ's work grows as
 * K³ (the Cholesky) and K²·channels (the updates), and at K = 4608 (a 3 × 3 convolution over 512
 * channels) one layer takes seconds; such wide layers also lose least to nearest rounding, whose
 * error averages over K terms.
 */
export const GPTQ_MAX_K = 2048;

/** Largest im2col block (elements) and rows of H per product: bound the scratch memory. */
const COL_LIMIT = 1 << 22;
const ROW_BLOCK = 256;

/** How a weight meets its input rows: K weights per channel (`blocks` directions of K/blocks), `groups` groups. */
interface WeightShape {
  readonly k: number;
  readonly groups: number;
  readonly channels: number;
  readonly blocks: number;
  readonly wShape: readonly number[];
}

/** The shape of input `input` of `node` as a weight GPTQ can round; undefined for other inputs. */
function weightShape(node: Node, input: number, w: Tensor | undefined): WeightShape | undefined {
  if (!w || w.dtype !== "float32") return undefined;
  const a = attrsOf(node);
  const s = w.shape;
  if ((node.op === "LSTM" || node.op === "GRU") && (input === 1 || input === 2) && s.length === 3) {
    return { k: s[0]! * s[2]!, groups: 1, channels: s[1]!, blocks: s[0]!, wShape: s };
  }
  if (input !== 1) return undefined;
  if (node.op === "Conv" && s.length >= 3) {
    const groups = a.int("group", 1);
    return s[0]! % groups === 0 ? { k: numel(s) / s[0]!, groups, channels: s[0]!, blocks: 1, wShape: s } : undefined;
  }
  if (s.length !== 2) return undefined;
  if (node.op === "Gemm") {
    const t = a.int("transB", 0) !== 0;
    return { k: s[t ? 1 : 0]!, groups: 1, channels: s[t ? 0 : 1]!, blocks: 1, wShape: s };
  }
  return node.op === "MatMul" ? { k: s[0]!, groups: 1, channels: s[1]!, blocks: 1, wShape: s } : undefined;
}

/** Running Σ x·xᵀ (lower triangle), Σ x and the row count of one group. */
interface Moments {
  readonly h: Float64Array;
  readonly sums: Float64Array;
  count: number;
}

interface Accumulator {
  readonly node: Node;
  readonly input: number;
  readonly shape: WeightShape;
  readonly groups: Moments[];
}

/** Adds one run's rows of a weight's input to its Hessians. */
function accumulate(acc: Accumulator, inputs: readonly (Tensor | undefined)[], outputs: readonly Tensor[], scratch: Float32Array): void {
  const { node, shape, groups } = acc;
  const x = inputs[0];
  if (!x) return;
  const d = floatData(x);
  if (node.op === "Conv") return convRows(node, x, d, shape, groups, scratch);
  if (node.op === "LSTM" || node.op === "GRU") return recurrentRows(acc, d, inputs, outputs, scratch);
  // Rows of A, [M, K]; Gemm's transA stores A as [K, M].
  const k = shape.k;
  const m = d.length / k;
  const g = groups[0]!;
  if (node.op === "Gemm" && attrsOf(node).int("transA", 0) !== 0) addProduct(g, k, 0, k, m, view(d, 0, m), view(d, 0, m, true), scratch);
  else addProduct(g, k, 0, k, m, view(d, 0, k, true), view(d, 0, k), scratch);
  g.count += m;
}

function convRows(node: Node, x: Tensor, d: FloatArray, shape: WeightShape, groups: readonly Moments[], scratch: Float32Array): void {
  const ctx = { node, attrs: attrsOf(node) };
  const rank = x.shape.length - 2;
  const win = forwardWindow(readWindowAttrs(ctx, rank, convKernel(ctx, shape.wShape, rank)!), x.shape.slice(2));
  const positions = windowPositions(win);
  const [n, c] = x.shape as [number, number];
  const k = shape.k;
  const cg = c / shape.groups;
  const inSize = numel(win.inShape);
  const chunk = Math.max(1, Math.min(positions, Math.floor(COL_LIMIT / k)));
  const col = new Float32Array(k * chunk);
  for (let img = 0; img < n; img++) {
    for (let g = 0; g < shape.groups; g++) {
      for (let p0 = 0; p0 < positions; p0 += chunk) {
        const np = Math.min(chunk, positions - p0);
        im2col(d, (img * c + g * cg) * inSize, cg, win, col, p0, np);
        addProduct(groups[g]!, k, 0, k, np, view(col, 0, np), view(col, 0, np, true), scratch);
        groups[g]!.count += np;
      }
    }
  }
}

/**
 * W's rows are the inputs x_t, the same for each direction's block; R's are the hidden states
 * each step starts from: initial_h (zeros when absent), then the previous step's Y, in the
 * direction's order. Without Y only a single step's R rows are known.
 */
function recurrentRows(acc: Accumulator, x: FloatArray, inputs: readonly (Tensor | undefined)[], outputs: readonly Tensor[], scratch: Float32Array): void {
  const { shape } = acc;
  const dirs = shape.blocks;
  const n = shape.k / dirs;
  const g = acc.groups[0]!;
  if (acc.input === 1) {
    const m = x.length / n;
    for (let dir = 0; dir < dirs; dir++) addProduct(g, shape.k, dir * n, n, m, view(x, 0, n, true), view(x, 0, n), scratch);
    g.count += m;
    return;
  }
  const layout = attrsOf(acc.node).int("layout", 0);
  const xs = inputs[0]!.shape;
  const [steps, batch] = layout ? [xs[1]!, xs[0]!] : [xs[0]!, xs[1]!];
  const y = outputs[0];
  if (!y && steps > 1) return;
  const yd = y && floatData(y);
  const h0 = inputs[5] && floatData(inputs[5]);
  const rows = new Float32Array(steps * batch * n);
  for (let dir = 0; dir < dirs; dir++) {
    for (let t = 0; t < steps; t++) {
      // The step that precedes step t in this direction's order.
      const prev = dir === 0 ? t - 1 : t + 1;
      for (let b = 0; b < batch; b++) {
        const dst = (t * batch + b) * n;
        if (prev < 0 || prev === steps) {
          if (h0) rows.set(h0.subarray((dir * batch + b) * n, (dir * batch + b + 1) * n), dst);
          else rows.fill(0, dst, dst + n);
        } else {
          // Y is [steps, dirs, batch, n], or [batch, steps, dirs, n] with layout 1.
          const src = layout ? ((b * steps + prev) * dirs + dir) * n : ((prev * dirs + dir) * batch + b) * n;
          rows.set(yd!.subarray(src, src + n), dst);
        }
      }
    }
    addProduct(g, shape.k, dir * n, n, steps * batch, view(rows, 0, n, true), view(rows, 0, n), scratch);
  }
  g.count += steps * batch;
}

/**
 * Adds the lower triangle of a·b, where a [n × m] holds m rows x (length n) as columns and b = aᵀ,
 * to the n×n diagonal block at (off, off) of g's H (k×k), and the rows' sum to its sums: row
 * block by row block through float32 scratch (the GEMM sums in float64 and rounds once).
 */
function addProduct(g: Moments, k: number, off: number, n: number, m: number, a: Mat<FloatArray>, b: Mat<FloatArray>, scratch: Float32Array): void {
  const h = g.h;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let t = 0, p = a.offset + i * a.rowStride; t < m; t++, p += a.colStride) s += a.data[p]!;
    g.sums[off + i] += s;
  }
  for (let r0 = 0; r0 < n; r0 += ROW_BLOCK) {
    const r1 = Math.min(n, r0 + ROW_BLOCK);
    sgemm(r1 - r0, r1, m, { ...a, offset: a.offset + r0 * a.rowStride }, b, view(scratch, 0, r1));
    for (let r = r0; r < r1; r++) {
      const src = (r - r0) * r1;
      const dst = (off + r) * k + off;
      for (let j = 0; j <= r; j++) h[dst + j] += scratch[src + j]!;
    }
  }
}

/**
 * A lazy source of Hessians: `(node, input)` gives the Hessian of that weight input when `wants`
 * selects the node and the weight has a shape GPTQ rounds, else undefined.
 */
export function hessianSource(
  model: Model,
  sets: readonly ReadonlyMap<string, Tensor>[],
  wants: (node: Node) => boolean,
  budget = HESSIAN_BUDGET,
): (node: Node, input: number) => LayerHessian | undefined {
  const g = model.graph;
  const weights = g.nodes.flatMap((node) =>
    !wants(node)
      ? []
      : [1, 2].flatMap((input) => {
          const shape = weightShape(node, input, g.initializers.get(node.inputs[input] ?? ""));
          return shape && shape.k <= GPTQ_MAX_K ? [{ node, input, shape }] : [];
        }),
  );
  const ready = new Map<string, LayerHessian>();
  const key = (node: Node, input: number) => `${g.nodes.indexOf(node)}:${input}`;
  const take = (k: string) => {
    const h = ready.get(k);
    ready.delete(k);
    return h;
  };
  return (node, input) => {
    const k = key(node, input);
    if (ready.has(k)) return take(k);
    const first = weights.findIndex((w) => w.node === node && w.input === input);
    if (first < 0) return undefined;
    // The wave: this weight and the ones after it while their Hessians fit the budget.
    const wave: Accumulator[] = [];
    let bytes = 0;
    for (let i = first; i < weights.length; i++) {
      const { shape } = weights[i]!;
      const size = 8 * shape.groups * shape.k * shape.k;
      if (wave.length && bytes + size > budget) break;
      bytes += size;
      const groups = Array.from({ length: shape.groups }, () => ({ h: new Float64Array(shape.k * shape.k), sums: new Float64Array(shape.k), count: 0 }));
      wave.push({ ...weights[i]!, groups });
    }
    const byNode = new Map<Node, Accumulator[]>();
    for (const a of wave) byNode.set(a.node, [...(byNode.get(a.node) ?? []), a]);
    const maxK = Math.max(...wave.map((a) => a.shape.k));
    const scratch = new Float32Array(Math.min(ROW_BLOCK, maxK) * maxK);
    for (const feeds of sets) {
      runModel(model, feeds, {
        onNode: (n, outputs, inputs) => {
          for (const a of byNode.get(n) ?? []) accumulate(a, inputs, outputs, scratch);
        },
      });
    }
    for (const a of wave) {
      ready.set(key(a.node, a.input), {
        k: a.shape.k,
        groups: a.groups.map((g) => g.h),
        sums: a.groups.map((g) => g.sums),
        count: a.groups[0]!.count,
        channelsPerGroup: a.shape.channels / a.shape.groups,
      });
    }
    return take(k);
  };
}
