/**
 * A layer's digital periphery around its tiles, written from the AIMC contract (SPEC.md §4): for
 * one position (one vector of input codes) and every block of the layer, in the chip's order,
 *   1. DAC (digital): d = clamp(roundHalfEven((x − z_x)·m0 / 2^t), ±qD), M_dac = s_x·qD / (r_b·dac_bound);
 *   2–3. the block's analog MVM and ADC (tile.ts `mvm`, noise as configured);
 *   4. digital scale into units of s_x·s_w[n]: mulShiftRound(a, M_dig), M_dig = qW·r_b·adc_bound·α / (qA·s_x);
 *   5. int32 accumulation of the blocks in ascending block order, on top of the layer's int32 bias.
 * AnalogMvm nodes (mvm-node.ts) and the recurrent nodes' gate products (recurrent-node.ts) both
 * run their layers through it. Everything besides the input codes comes from the program files
 * (mapping.json, weights.bin, through the programmed chip) and the input's quantization.
 */
import { HwacError } from "../../../ir/errors.js";
import type { Node } from "../../../ir/graph.js";
import type { NumArray } from "../../../ir/kernels/gemm.js";
import { clamp, quantizeMultiplier, Requantizer, roundHalfEven, type FixedMultiplier } from "../../../ir/numeric.js";
import { attrsOf } from "../../../ir/op.js";
import { levels } from "../config.js";
import { converters, mvm, READOUT_REF, type BlockId, type Converters } from "../tile.js";
import type { Chip, ChipBlock, ChipLayer } from "./chip.js";

/** The quantization of the codes a layer reads: scale, zero point and the range [lo, hi] the codes lie in. */
export interface InputCodes {
  readonly scale: number;
  readonly zp: number;
  readonly lo: number;
  readonly hi: number;
}

interface RowBlock {
  readonly start: number;
  readonly count: number;
  /** DAC code of every input code q at dac[q − lo]: step 1 tabulated once. */
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

export function programError(node: Node, msg: string): HwacError {
  return new HwacError("HW5151", `model.hir and mapping.json disagree on ${node.op} '${node.name}': ${msg}`, { node: node.name, op: node.op });
}

function encode(node: Node, what: string, m: number): FixedMultiplier {
  try {
    return quantizeMultiplier(m);
  } catch (e) {
    if (e instanceof RangeError) {
      throw new HwacError("HW5152", `${node.op} '${node.name}': the ${what} multiplier ${m} cannot be encoded (${e.message})`, { node: node.name, op: node.op });
    }
    throw e;
  }
}

/**
 * The converters are the chip's (the config); the node's attributes say which ones the program
 * was compiled for. (Its other attributes repeat mapping.json: program.ts `checkProgram`.)
 */
export function checkConverters(node: Node, chip: Chip): void {
  const a = attrsOf(node);
  const c = chip.config;
  const converter: [string, number, number][] = [
    ["dac_bits", a.int("dac_bits", 8), c.dac.bits], ["dac_bound", a.float("dac_bound", 1), c.dac.bound],
    ["adc_bits", a.int("adc_bits", 8), c.adc.bits], ["adc_bound", a.float("adc_bound", 10), c.adc.bound],
  ];
  for (const [name, attr, config] of converter) {
    if (attr !== config) {
      throw new HwacError("HW5151", `${node.op} '${node.name}' was compiled for ${name} ${attr}, the chip config has ${config}`, { node: node.name, op: node.op });
    }
  }
}

/** Refuses inference indices the draws cannot take (the top two are the drift-compensation reads). */
export function checkInferences(node: Node, first: number, items: number): void {
  if (!Number.isInteger(first) || first < 0 || first + items > READOUT_REF) {
    throw new HwacError("HW5103", `${node.op} '${node.name}': inference indices ${first} … ${first + items - 1} must lie in [0, ${READOUT_REF})`);
  }
}

/** Tabulates step 1 over every input code. */
function dacTable(x: InputCodes, f: FixedMultiplier, qD: number): Float64Array {
  const table = new Float64Array(x.hi - x.lo + 1);
  const pow = 2 ** (31 - f.shift);
  for (let q = x.lo; q <= x.hi; q++) table[q - x.lo] = clamp(roundHalfEven(((q - x.zp) * f.m0) / pow), -qD, qD);
  return table;
}

/** One layer of a node on a programmed chip, for inputs of one quantization, with the buffers its positions reuse. */
export class LayerPeriphery {
  /** Inputs (rows) and outputs (columns) of the layer. */
  readonly k: number;
  readonly n: number;
  /** Steps 1–5's result at the last position: int32 totals per output, bias included. */
  readonly total: Int32Array;
  private readonly lo: number;
  private readonly rowBlocks: readonly RowBlock[];
  private readonly blocks: readonly BlockPlan[];
  private readonly cv: Converters;
  private readonly bias: Int32Array;
  private readonly adc: Int32Array;
  private readonly key = { mvm: 0, inference: 0 };

  constructor(
    node: Node,
    layer: ChipLayer,
    private readonly chip: Chip,
    x: InputCodes,
  ) {
    const { record, qW } = layer;
    if (!record.scales) throw programError(node, `the mapping's layer '${record.name}' has no scales (weight, input)`);
    checkConverters(node, chip);
    const c = chip.config;
    const qD = levels(c.dac.bits);
    const qA = levels(c.adc.bits);
    const ranges = record.scales.input;
    const firstRow = layer.blocks.filter((b) => b.block.outStart === 0);
    this.rowBlocks = firstRow.map(({ block }, rb): RowBlock => {
      const m = encode(node, "DAC", (x.scale * qD) / (ranges[rb]! * c.dac.bound));
      return { start: block.inStart, count: block.inCount, dac: dacTable(x, m, qD), x: new Float64Array(block.inCount) };
    });
    const rowBlockAt = new Map(this.rowBlocks.map((r, rb) => [r.start, rb]));
    this.blocks = layer.blocks.map((cb): BlockPlan => {
      const rb = rowBlockAt.get(cb.block.inStart)!;
      const m = encode(node, "digital scale", (qW * ranges[rb]! * c.adc.bound * cb.alpha) / (qA * x.scale));
      return { chip: cb, id: { layer: layer.index, block: cb.block.index }, rowBlock: this.rowBlocks[rb]!, digital: Requantizer.of(m) };
    });
    this.k = record.rows;
    this.n = record.cols;
    this.lo = x.lo;
    this.cv = converters(c, qW);
    this.bias = layer.bias;
    this.total = new Int32Array(this.n);
    this.adc = new Int32Array(Math.max(...layer.blocks.map((b) => b.block.outCount)));
  }

  /**
   * Steps 1–5 for one position, input code k at src[base + k·pitch], its draws keyed
   * { mvm, inference }. Only the blocks holding outputs in [c0, c1) run; `total` is valid there.
   */
  position(src: NumArray, base: number, pitch: number, mvmIndex: number, inference: number, c0 = 0, c1 = this.n): void {
    const { lo, total, adc, key, cv, rowBlocks, blocks } = this;
    for (let rb = 0; rb < rowBlocks.length; rb++) {
      const r = rowBlocks[rb]!;
      const { dac, x } = r;
      for (let j = 0, at = base + r.start * pitch; j < r.count; j++, at += pitch) x[j] = dac[src[at]! - lo]!;
    }
    total.set(this.bias);
    key.mvm = mvmIndex;
    key.inference = inference;
    const { config, seed } = this.chip;
    for (let bi = 0; bi < blocks.length; bi++) {
      const b = blocks[bi]!;
      const { block, weights } = b.chip;
      const o = block.outStart;
      if (o >= c1 || o + block.outCount <= c0) continue;
      mvm(weights, block.inCount, block.outCount, b.rowBlock.x, adc, config, cv, seed, b.id, key);
      for (let i = 0; i < block.outCount; i++) total[o + i] = (total[o + i]! + b.digital.apply(adc[i]!, 0)) | 0;
    }
  }
}
