/**
 * One `hwac::AnalogMvm` node on the chip, written from the AIMC contract (SPEC.md §4): for every
 * output position and every block of the node's layer, in the chip's order,
 *   1. DAC (digital): d = clamp(roundHalfEven((x − z_x)·m0 / 2^t), ±qD), M_dac = s_x·qD / (r_b·dac_bound);
 *   2–3. the block's analog MVM and ADC (tile.ts `mvm`, noise as configured);
 *   4. digital scale into units of s_x·s_w[n]: mulShiftRound(a, M_dig), M_dig = qW·r_b·adc_bound·α / (qA·s_x);
 *   5. int32 accumulation of the blocks in ascending block order, on top of the int32 bias;
 *   6. requantization to the output type, per output channel as the replaced Conv/Gemm.
 * Everything the node needs besides X comes from the program files (mapping.json, weights.bin,
 * through the programmed chip); the node's attributes are only checked against them.
 *
 * Positions: conv mode reads the im2col columns of each batch item (positions = output pixels);
 * matmul mode reads X as [items, positions, K] (the first axis is the batch item). The draws of
 * position p of item i are keyed { mvm: p, inference: firstInference + i }.
 */
import type { DType } from "../../../ir/dtype.js";
import { HwacError } from "../../../ir/errors.js";
import type { Node, TensorType } from "../../../ir/graph.js";
import { forwardWindow, readWindowAttrs, type WindowAttrs } from "../../../ir/kernels/conv-geometry.js";
import type { IntArray, NumArray } from "../../../ir/kernels/gemm.js";
import { im2col } from "../../../ir/kernels/im2col.js";
import { convParams, requantizeChannels, type Requant } from "../../../ir/kernels/requant.js";
import { clamp, quantizeMultiplier, Requantizer, roundHalfEven, type FixedMultiplier } from "../../../ir/numeric.js";
import { attrsOf } from "../../../ir/op.js";
import { perTensor } from "../../../ir/quant-params.js";
import { numel, tensor, type Tensor } from "../../../ir/tensor.js";
import { levels } from "../config.js";
import { converters, mvm, READOUT_REF, type BlockId, type Converters } from "../tile.js";
import type { Chip, ChipBlock, ChipLayer } from "./chip.js";

/** The quantized types of the node's X and Y (model.hir's valueTypes). */
export interface MvmNodeTypes {
  readonly x: TensorType;
  readonly y: TensorType;
}

interface RowBlock {
  readonly start: number;
  readonly count: number;
  /** DAC code of every X code q at dac[q − xLo]: step 1 tabulated once. */
  readonly dac: Float64Array;
  /** The block's DAC codes at the current position. */
  readonly x: Float64Array;
}

interface BlockPlan {
  readonly chip: ChipBlock;
  readonly id: BlockId;
  readonly rowBlock: RowBlock;
  /** Step 4's multiplier, α included. */
  readonly digital: Requantizer;
}

/** Everything about a node that does not depend on X's values, with the buffers its positions reuse. */
export interface AnalogMvmPlan {
  readonly node: Node;
  readonly chip: Chip;
  /** Conv mode: the window attributes; undefined in matmul mode. */
  readonly window: WindowAttrs | undefined;
  /** Inputs K (W's columns) and outputs N. */
  readonly k: number;
  readonly n: number;
  readonly xLo: number;
  readonly zx: number;
  readonly blocks: readonly BlockPlan[];
  readonly rowBlocks: readonly RowBlock[];
  readonly cv: Converters;
  readonly bias: Int32Array;
  readonly requant: Requant;
  readonly outType: DType;
  /** Conv mode: im2col columns of up to `chunk` positions. */
  readonly col: Int32Array;
  readonly chunk: number;
  readonly adc: Int32Array;
  readonly total: Int32Array;
  readonly key: { mvm: number; inference: number };
}

/** Bounds the im2col buffer: positions are read in chunks of about this many codes. */
const COLUMN_CODES = 1 << 16;

function programError(node: Node, msg: string): HwacError {
  return new HwacError("HW5151", `model.hir and mapping.json disagree on AnalogMvm '${node.name}': ${msg}`, { node: node.name, op: node.op });
}

function encode(node: Node, what: string, m: number): FixedMultiplier {
  try {
    return quantizeMultiplier(m);
  } catch (e) {
    if (e instanceof RangeError) {
      throw new HwacError("HW5152", `AnalogMvm '${node.name}': the ${what} multiplier ${m} cannot be encoded (${e.message})`, { node: node.name, op: node.op });
    }
    throw e;
  }
}

/**
 * The converters are the chip's (the config); the node's attributes say which ones the program
 * was compiled for. (Its other attributes repeat mapping.json: program.ts `checkProgram`.)
 */
function checkConverters(node: Node, chip: Chip): void {
  const a = attrsOf(node);
  const c = chip.config;
  const converter: [string, number, number][] = [
    ["dac_bits", a.int("dac_bits", 8), c.dac.bits], ["dac_bound", a.float("dac_bound", 1), c.dac.bound],
    ["adc_bits", a.int("adc_bits", 8), c.adc.bits], ["adc_bound", a.float("adc_bound", 10), c.adc.bound],
  ];
  for (const [name, attr, config] of converter) {
    if (attr !== config) {
      throw new HwacError("HW5151", `AnalogMvm '${node.name}' was compiled for ${name} ${attr}, the chip config has ${config}`, { node: node.name, op: node.op });
    }
  }
}

/** Tabulates step 1 over every code of X's type. */
function dacTable(xLo: number, xHi: number, zx: number, f: FixedMultiplier, qD: number): Float64Array {
  const table = new Float64Array(xHi - xLo + 1);
  const pow = 2 ** (31 - f.shift);
  for (let q = xLo; q <= xHi; q++) table[q - xLo] = clamp(roundHalfEven(((q - zx) * f.m0) / pow), -qD, qD);
  return table;
}

/** Prepares a node for its layer on a programmed chip. */
export function prepareAnalogMvm(node: Node, types: MvmNodeTypes, layer: ChipLayer, chip: Chip): AnalogMvmPlan {
  const { record, qW } = layer;
  if (!record.scales) throw programError(node, "the mapping's layer has no scales (weight, input)");
  const c = chip.config;
  const x = perTensor(types.x, `AnalogMvm '${node.name}' X`);
  const qD = levels(c.dac.bits);
  const qA = levels(c.adc.bits);
  const firstRow = layer.blocks.filter((b) => b.block.outStart === 0);
  const ranges = record.scales.input;
  checkConverters(node, chip);
  const rowBlocks = firstRow.map(({ block }, rb): RowBlock => {
    const m = encode(node, "DAC", (x.scale * qD) / (ranges[rb]! * c.dac.bound));
    return { start: block.inStart, count: block.inCount, dac: dacTable(x.lo, x.hi, x.zp, m, qD), x: new Float64Array(block.inCount) };
  });
  const rowBlockAt = new Map(rowBlocks.map((r, rb) => [r.start, rb]));
  const blocks = layer.blocks.map((cb): BlockPlan => {
    const rb = rowBlockAt.get(cb.block.inStart)!;
    const m = encode(node, "digital scale", (qW * ranges[rb]! * c.adc.bound * cb.alpha) / (qA * x.scale));
    return { chip: cb, id: { layer: layer.index, block: cb.block.index }, rowBlock: rowBlocks[rb]!, digital: Requantizer.of(m) };
  });
  const n = record.cols;
  const k = record.rows;
  // The weight type only carries s_w to the requantization; int8 is the cells' storage type.
  const wType: TensorType = { dtype: "int8", shape: [n, k], quant: { scale: Float32Array.from(record.scales.weight), zeroPoint: new Int32Array(n), axis: 0 } };
  const attrs = attrsOf(node);
  const kernel = attrs.optInts("kernel_shape");
  const window = kernel && readWindowAttrs({ node, attrs }, kernel.length, kernel);
  const chunk = Math.max(1, Math.floor(COLUMN_CODES / k));
  return {
    node, chip, window, k, n, xLo: x.lo, zx: x.zp, blocks, rowBlocks,
    cv: converters(c, qW),
    bias: layer.bias,
    requant: convParams(types.x, wType, types.y, 0, n, `AnalogMvm '${node.name}'`).requant,
    outType: types.y.dtype,
    col: new Int32Array(window ? k * chunk : 0),
    chunk,
    adc: new Int32Array(Math.max(...layer.blocks.map((b) => b.block.outCount))),
    total: new Int32Array(n),
    key: { mvm: 0, inference: 0 },
  };
}

/**
 * Steps 1–5 for one position: X code k of the position is src[base + k·pitch]. Leaves the int32
 * totals in plan.total.
 */
function position(plan: AnalogMvmPlan, src: NumArray, base: number, pitch: number, p: number, inference: number): void {
  const { xLo, total, adc, key, cv, rowBlocks, blocks } = plan;
  for (let rb = 0; rb < rowBlocks.length; rb++) {
    const r = rowBlocks[rb]!;
    const { dac, x } = r;
    for (let j = 0, at = base + r.start * pitch; j < r.count; j++, at += pitch) x[j] = dac[src[at]! - xLo]!;
  }
  total.set(plan.bias);
  key.mvm = p;
  key.inference = inference;
  const { config, seed } = plan.chip;
  for (let bi = 0; bi < blocks.length; bi++) {
    const b = blocks[bi]!;
    const { block, weights } = b.chip;
    mvm(weights, block.inCount, block.outCount, b.rowBlock.x, adc, config, cv, seed, b.id, key);
    const o = block.outStart;
    for (let i = 0; i < block.outCount; i++) total[o + i] = (total[o + i]! + b.digital.apply(adc[i]!, 0)) | 0;
  }
}

function checkInferences(plan: AnalogMvmPlan, first: number, items: number): void {
  if (!Number.isInteger(first) || first < 0 || first + items > READOUT_REF) {
    throw new HwacError("HW5103", `AnalogMvm '${plan.node.name}': inference indices ${first} … ${first + items - 1} must lie in [0, ${READOUT_REF})`);
  }
}

/** Evaluates the node on X's codes; batch item i is inference firstInference + i. */
export function evaluateAnalogMvm(plan: AnalogMvmPlan, x: Tensor, firstInference: number): Tensor {
  const src = x.data as NumArray;
  const { k, n, total } = plan;
  if (plan.window) {
    const [items = 0, channels = 0, ...spatial] = x.shape;
    const win = forwardWindow(plan.window, spatial);
    if (channels * numel(win.kernel) !== k) throw programError(plan.node, `X has ${channels} channels of a ${win.kernel.join("×")} kernel, the layer ${k} rows`);
    checkInferences(plan, firstInference, items);
    const positions = numel(win.outShape);
    const acc = new Int32Array(items * n * positions);
    const read = { pad: plan.zx, offset: 0 };
    for (let item = 0; item < items; item++) {
      for (let p0 = 0; p0 < positions; p0 += plan.chunk) {
        const np = Math.min(plan.chunk, positions - p0);
        im2col(src, item * channels * numel(spatial), channels, win, plan.col, p0, np, read);
        for (let q = 0; q < np; q++) {
          position(plan, plan.col, q, np, p0 + q, firstInference + item);
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
  checkInferences(plan, firstInference, items);
  const acc = new Int32Array(items * positions * n);
  for (let item = 0; item < items; item++) {
    for (let p = 0; p < positions; p++) {
      const row = item * positions + p;
      position(plan, src, row * k, 1, p, firstInference + item);
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
