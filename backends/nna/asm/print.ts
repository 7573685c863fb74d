/**
 * Prints programs as `.nnas` text: one statement per line, instruction fields in bit order with
 * values equal to their defaults left out, so `assemble(print(p))` rebuilds `p` exactly.
 */
import { fieldDefault, fieldNumber, opSpec, type FieldSpec } from "../encode.js";
import { neighbour, queueOf, type Insn, type Queue } from "../isa.js";
import { NNAB_VERSION, type Program } from "../program.js";

function fieldText(f: FieldSpec, insn: Insn): string {
  const n = fieldNumber(f, insn);
  if (Array.isArray(f.kind)) return f.kind[n]!;
  return f.hex ? `0x${n.toString(16)}` : String(n);
}

/** One instruction as a line of assembly (also how errors name an instruction). */
export function formatInsn(insn: Insn): string {
  const spec = opSpec(insn.op);
  const parts = [spec.suffix ? `${insn.op}.${(insn as unknown as Record<string, string>)[spec.suffix]}` : insn.op];
  for (const f of spec.fields) {
    if (f.name === spec.suffix || fieldNumber(f, insn) === fieldDefault(f, insn)) continue;
    parts.push(`${f.key}=${fieldText(f, insn)}`);
  }
  const q = queueOf(insn);
  const { popPrev, popNext, pushPrev, pushNext } = insn.deps;
  const named = (prev: boolean, next: boolean) =>
    [prev && neighbour(q, "prev"), next && neighbour(q, "next")].filter((x): x is Queue => typeof x === "string").join(",");
  const pop = named(popPrev, popNext);
  const push = named(pushPrev, pushNext);
  if (pop) parts.push(`pop=${pop}`);
  if (push) parts.push(`push=${push}`);
  return parts.join(" ");
}

function hexBytes(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

export function printProgram(p: Program): string {
  return Array.from(printProgramPieces(p)).join("");
}

/** Lines per piece of printProgramPieces: few enough writes, small enough pieces. */
const LINES_PER_PIECE = 4096;

/** `printProgram`'s text in pieces of whole lines, so a large program is written without its whole text in memory. */
export function* printProgramPieces(p: Program): Generator<string> {
  let lines = [`.nnab version=${NNAB_VERSION} config="${p.configHash}" dram=0x${p.dramBytes.toString(16)}`];
  const flush = (): string => {
    const piece = `${lines.join("\n")}\n`;
    lines = [];
    return piece;
  };
  for (const t of p.tensors) {
    lines.push(
      `.tensor name=${JSON.stringify(t.name)} io=${t.kind} dtype=${t.dtype} shape=[${t.shape.join(", ")}] ` +
        `addr=0x${t.addr.toString(16)} scale=${t.scale} zp=${t.zeroPoint}${t.layout === "nhwc" ? " layout=nhwc" : ""}`,
    );
  }
  for (const l of p.layers) lines.push(`.name layer=${l.id} text=${JSON.stringify(l.name)}`);
  yield flush();
  for (const s of p.segments) yield `.data addr=0x${s.addr.toString(16)} hex="${hexBytes(s.data)}"\n`;
  let layer = 0;
  for (const insn of p.insns) {
    if (insn.layer !== layer) {
      layer = insn.layer;
      lines.push(`.layer id=${layer}`);
    }
    lines.push(formatInsn(insn));
    if (lines.length >= LINES_PER_PIECE) yield flush();
  }
  if (lines.length) yield flush();
}
