/**
 * Programming the chip for an AIMC program: every block of mapping.json gets its codes from the
 * weights image, is programmed (programming noise, drift exponents) and read out at the inference
 * time t (drift, 1/f noise, drift-compensation factor α). A chip is computed once per (program,
 * config, seed, t) and serves every inference, as the physical chip would.
 *
 * Draw coordinates: layer = the layer's index in mapping.json, block = the block's index in the
 * layer (docs/aimc-format.md), so a layer's devices do not change when the packing does.
 */
import { HwacError } from "../../../ir/errors.js";
import { levels, type AimcConfig } from "../config.js";
import { blockCodes, type LayerRecord, type MappingFile, type WeightsImage } from "../format.js";
import type { Block } from "../mapping.js";
import { compensationFactor, programBlock, weightsAt } from "../tile.js";

/** A block as the chip holds it at the inference time. */
export interface ChipBlock {
  readonly block: Block;
  /** Effective weights in code units at t, crossbar layout: inCount rows × outCount columns. */
  readonly weights: Float64Array;
  /** Global drift-compensation factor, 1 when compensation or drift is off. */
  readonly alpha: number;
}

export interface ChipLayer {
  /** Index in mapping.json: the `layer` coordinate of the layer's draws. */
  readonly index: number;
  readonly record: LayerRecord;
  /** The weight code that programs g_max (127 for 8-bit weights). */
  readonly qW: number;
  readonly blocks: readonly ChipBlock[];
  /** The digital periphery's int32 bias per output (zeros when the layer has none). */
  readonly bias: Int32Array;
}

export interface Chip {
  readonly config: AimcConfig;
  readonly seed: number;
  /** Seconds from the end of programming to the inference. */
  readonly t: number;
  readonly layers: ReadonlyMap<string, ChipLayer>;
}

/** Programs every block of the program and reads its weights and α at time t. */
export function programChip(
  program: { readonly mapping: MappingFile; readonly image: WeightsImage }, config: AimcConfig, seed: number, t: number,
): Chip {
  if (!(t >= 0) || !Number.isFinite(t)) throw new HwacError("HW5150", `the inference time must be finite and ≥ 0 seconds, got ${t}`);
  const layers = new Map<string, ChipLayer>();
  program.mapping.layers.forEach((record, index) => {
    const qW = levels(record.weightBits);
    const blocks = record.blocks.map((block): ChipBlock => {
      const codes = blockCodes(program.image, block);
      const pb = programBlock(codes, block.inCount, block.outCount, qW, config, seed, { layer: index, block: block.index });
      const weights = weightsAt(pb, t, config, seed);
      return { block, weights, alpha: compensationFactor(pb, weights, t, config, seed) };
    });
    const bias = new Int32Array(record.cols);
    if (record.bias) bias.set(program.image.bias.subarray(record.bias.offset, record.bias.offset + record.cols));
    layers.set(record.name, { index, record, qW, blocks, bias });
  });
  return { config, seed, t, layers };
}
