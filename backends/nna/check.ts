/**
 * The rules of isa.ts a single instruction must satisfy whatever the memories hold: fields that
 * fit their bits, token directions its queue has, modes its memory accepts, fields its operation
 * ignores left zero (so every word has one meaning and one printed form). Addresses are checked
 * when the simulator runs the instruction, against the configured memories.
 */
import { fieldProblem } from "./encode.js";
import { MAX_K_BLOCKS, neighbour, queueOf, type Gemm, type Insn, type Load, type Vec } from "./isa.js";

const LOAD_MODES_OF: Readonly<Record<Load["mem"], readonly Load["mode"][]>> = {
  inp: ["i8", "i4"],
  wgt: ["i8", "i4", "cb2", "cb4", "cb8"],
  acc: ["i8", "i16", "i32"],
  lut: ["i8", "i16"],
};

function checkDeps(insn: Insn): string | undefined {
  const q = queueOf(insn);
  const { popPrev, popNext, pushPrev, pushNext } = insn.deps;
  if ((popPrev || pushPrev) && !neighbour(q, "prev")) return `the ${q} queue has no previous queue to exchange tokens with`;
  if ((popNext || pushNext) && !neighbour(q, "next")) return `the ${q} queue has no next queue to exchange tokens with`;
  return undefined;
}

function checkLoad(l: Load): string | undefined {
  if (!LOAD_MODES_OF[l.mem].includes(l.mode)) return `load.${l.mem} takes mode ${LOAD_MODES_OF[l.mem].join(", ")}, not ${l.mode}`;
  const padded = l.padTop || l.padBottom || l.padLeft || l.padRight || l.padValue;
  if (padded && l.mem !== "inp" && l.mem !== "acc") return `load.${l.mem} cannot pad (padding applies to inp and acc)`;
  if (l.mem === "inp" && (l.padValue < -128 || l.padValue > 127)) return `load.inp pads with an int8 value, got ${l.padValue}`;
  if (!l.mode.startsWith("cb") && (l.table || l.tableStride)) return "table and tstride apply to codebook loads (mode cb2, cb4, cb8) only";
  return undefined;
}

function checkGemm(g: Gemm): string | undefined {
  if (g.kBlocks > MAX_K_BLOCKS) return `gemm sums at most ${MAX_K_BLOCKS} K blocks (the mask's width), got ${g.kBlocks}`;
  if (g.kBlocks < MAX_K_BLOCKS && g.mask >= 2 ** g.kBlocks) return `gemm mask 0x${g.mask.toString(16)} has bits past its ${g.kBlocks} K blocks`;
  return undefined;
}

function checkVec(v: Vec): string | undefined {
  if (v.dstMem === "acc" && v.dtype !== "i32") return "vec writing to acc must have dtype i32";
  if (v.clamp && v.lo > v.hi) return `vec clamp needs lo ≤ hi, got [${v.lo}, ${v.hi}]`;
  if (!v.clamp && (v.lo || v.hi)) return "lo and hi apply only with clamp=1";
  const table = v.fn === "lut8" || v.fn === "lut16";
  if ((table || v.fn === "requant") && v.useImm) return `vec.${v.fn} takes its operand from src2, not an immediate`;
  if (table && (v.src2RowStride || v.src2ColStride)) return `vec.${v.fn} reads one table: src2row and src2col must be 0`;
  if (!v.useImm && v.imm && v.fn !== "requant") return "imm applies only with useimm=1 (or as requant's zero point)";
  return undefined;
}

/** Why `insn` is not a valid instruction, or undefined. */
export function checkInsn(insn: Insn): string | undefined {
  const bad = fieldProblem(insn) ?? checkDeps(insn);
  if (bad) return bad;
  switch (insn.op) {
    case "load":
      return checkLoad(insn);
    case "gemm":
      return checkGemm(insn);
    case "vec":
      return checkVec(insn);
    case "store":
    case "nop":
    case "finish":
      return undefined;
  }
}

/** Why a program's instruction list is not runnable as a whole: FINISH exactly once, at the end. */
export function checkShape(insns: readonly Insn[]): string | undefined {
  const at = insns.findIndex((i) => i.op === "finish");
  if (at < 0) return "the program has no finish instruction";
  if (at !== insns.length - 1) return `finish must be the last instruction, but #${at} of ${insns.length} is a finish`;
  return undefined;
}
