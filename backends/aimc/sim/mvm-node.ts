/**
 * One `hwac::AnalogMvm` node on the chip, written from the AIMC contract (SPEC.md §4): for every
 * output position, steps 1–5 through the node's layer (periphery.ts: DAC, the blocks' analog MVMs
 * and ADCs, digital scales with α, block sums on the bias), then
 *   6. requantization to the output type, per output channel as the replaced Conv/Gemm.
 * Everything the node needs besides X comes from the program files (mapping.json, weights.bin,
 * through the programmed chip); the node's attributes are only checked against them.
 *
 * Positions: conv mode reads the im2col columns of each batch item (positions = output pixels);
 * matmul mode reads X as [items, positions, K] (the first axis is the batch item). The draws of
 * position p of item i are keyed { mvm: p, inference: firstInference + i }.
 */
import type { DType } from "../../../ir/dtype.js";
import type { Node, TensorType } from "../../../ir/graph.js";
import { forwardWindow, readWindowAttrs, type WindowAttrs } from "../../../ir/kernels/conv-geometry.js";
import type { IntArray, NumArray } from "../../../ir/kernels/gemm.js";
import { im2col } from "../../../ir/kernels/im2col.js";
import { convParams, requantizeChannels, type Requant } from "../../../ir/kernels/requant.js";
import { attrsOf } from "../../../ir/op.js";
import { perTensor } from "../../../ir/quant-params.js";
import { numel, tensor, type Tensor } from "../../../ir/tensor.js";
import type { Chip, ChipLayer } from "./chip.js";
import { checkInferences, LayerPeriphery, programError } from "./periphery.js";

/** The quantized types of the node's X and Y (model.hir's valueTypes). */
export interface MvmNodeTypes {
  readonly x: TensorType;
  readonly y: TensorType;
}

/** Everything about a node that does not depend on X's values, with the buffers its positions reuse. */
export interface AnalogMvmPlan {
  readonly node: Node;
  readonly layer: LayerPeriphery;
  /** Conv mode: the window attributes; undefined in matmul mode. */
  readonly window: WindowAttrs | undefined;
  readonly zx: number;
  readonly requant: Requant;
  readonly outType: DType;
  /** Conv mode: im2col columns of up to `chunk` positions. */
  readonly col: Int32Array;
  readonly chunk: number;
}

/** Bounds the im2col buffer: positions are read in chunks of about this many codes. */
const COLUMN_CODES = 1 << 16;

/** Prepares a node for its layer on a programmed chip. */
export function prepareAnalogMvm(node: Node, types: MvmNodeTypes, layer: ChipLayer, chip: Chip): AnalogMvmPlan {
  const x = perTensor(types.x, `AnalogMvm '${node.name}' X`);
  const periphery = new LayerPeriphery(node, layer, chip, x);
  const { record } = layer;
  const n = record.cols;
  const k = record.rows;
  // The weight type only carries s_w to the requantization; int8 is the cells' storage type.
  const wType: TensorType = { dtype: "int8", shape: [n, k], quant: { scale: Float32Array.from(record.scales!.weight), zeroPoint: new Int32Array(n), axis: 0 } };
  const attrs = attrsOf(node);
  const kernel = attrs.optInts("kernel_shape");
  const window = kernel && readWindowAttrs({ node, attrs }, kernel.length, kernel);
  const chunk = Math.max(1, Math.floor(COLUMN_CODES / k));
  return {
    node, layer: periphery, window, zx: x.zp,
    requant: convParams(types.x, wType, types.y, 0, n, `AnalogMvm '${node.name}'`).requant,
    outType: types.y.dtype,
    col: new Int32Array(window ? k * chunk : 0),
    chunk,
  };
}

/** Evaluates the node on X's codes; batch item i is inference firstInference + i. */
export function evaluateAnalogMvm(plan: AnalogMvmPlan, x: Tensor, firstInference: number): Tensor {
  const src = x.data as NumArray;
  const { layer } = plan;
  const { k, n, total } = layer;
  if (plan.window) {
    const [items = 0, channels = 0, ...spatial] = x.shape;
    const win = forwardWindow(plan.window, spatial);
    if (channels * numel(win.kernel) !== k) throw programError(plan.node, `X has ${channels} channels of a ${win.kernel.join("×")} kernel, the layer ${k} rows`);
    checkInferences(plan.node, firstInference, items);
    const positions = numel(win.outShape);
    const acc = new Int32Array(items * n * positions);
    const read = { pad: plan.zx, offset: 0 };
    for (let item = 0; item < items; item++) {
      for (let p0 = 0; p0 < positions; p0 += plan.chunk) {
        const np = Math.min(plan.chunk, positions - p0);
        im2col(src, item * channels * numel(spatial), channels, win, plan.col, p0, np, read);
        for (let q = 0; q < np; q++) {
          layer.position(plan.col, q, np, p0 + q, firstInference + item);
          for (let o = 0, at = item * n * positions + p0 + q; o < n; o++, at += positions) acc[at] = total[o]!;
        }
      }
    }
    return finish(plan, acc, [items, n, ...win.outShape], positions);
  }
  const kx = x.shape.at(-1);
  if (kx !== k) throw programError(plan.node, `X's last axis is ${kx}, the layer has ${k} rows`);
  const items = x.shape.length >= 2 ? x.shape[0]! : 1;
  const positions = x.data.length / (items * k);
  checkInferences(plan.node, firstInference, items);
  const acc = new Int32Array(items * positions * n);
  for (let item = 0; item < items; item++) {
    for (let p = 0; p < positions; p++) {
      const row = item * positions + p;
      layer.position(src, row * k, 1, p, firstInference + item);
      acc.set(total, row * n);
    }
  }
  return finish(plan, acc, [...x.shape.slice(0, -1), n], 1);
}

/** Step 6: `inner` accumulators in a row share an output channel ([items, N, positions] in conv mode). */
function finish(plan: AnalogMvmPlan, acc: Int32Array, shape: number[], inner: number): Tensor {
  const y = tensor(plan.outType, shape);
  requantizeChannels(acc, y.data as IntArray, plan.requant, inner);
  return y;
}
