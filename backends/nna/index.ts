/**
 * The NNA backend's machine half: configuration, instruction set, binary and text program
 * formats, the bit-accurate simulator and its cycle model (docs/nna-isa.md).
 */
export { configHash, DEFAULT_CONFIG, geometry, loadConfig, parseConfig, type Geometry, type NnaConfig } from "./config.js";
export * from "./isa.js";
export { checkInsn, checkShape } from "./check.js";
export { decodeInsn, encodeInsn, LAYOUT, layoutLine, WORD_BYTES } from "./encode.js";
export {
  decodeProgram, encodeProgram, tensorBytes, NNAB_MAGIC, NNAB_VERSION,
  type IoDType, type IoTensor, type LayerName, type Program, type Segment,
} from "./program.js";
export { assemble, disassemble, formatInsn, parseAsm, printProgram, type AsmOptions } from "./asm/index.js";
export { footprints, span, type Footprint, type Space } from "./access.js";
export { checkRaces, findRace } from "./hazards.js";
export { checkTokens, Machine, simulate, type SimOptions, type SimResult, type Timing } from "./sim/index.js";
export { cycleStats, estimateCycles, latency, work, type CycleStats, type LayerStats, type QueueStats, type Work } from "./cycles.js";
export { lowerModel, LOWERINGS, type LowerOptions, type Lowering } from "./lower/index.js";
