/**
 * Scaled dot-product attention (ONNX Attention, opsets 23/24), one (batch, query head) at a time:
 * S = scale·Q·Kᵀ, optional softcap c·tanh(S/c), plus a bias (attention mask, causal frontier,
 * key padding), softmax over keys, Y = P·V. 3-D operands [B, S, H·D] are read in place through
 * strided matrix views instead of being transposed to [B, H, S, D].
 */
import { sgemm, view, type FloatArray } from "./gemm.js";

/** How a [batch, heads, seq, head_size] operand is laid out in memory. */
export interface HeadLayout {
  readonly data: FloatArray;
  readonly batch: number;
  readonly heads: number;
  readonly seq: number;
  readonly size: number;
  /** [B, S, H·D] (3-D input) rather than [B, H, S, D]. */
  readonly packed: boolean;
}

/** Offset of head (b, h) and the pitch between its rows. */
function headAt(l: Pick<HeadLayout, "heads" | "seq" | "size" | "packed">, b: number, h: number): { offset: number; ld: number } {
  return l.packed
    ? { offset: b * l.seq * l.heads * l.size + h * l.size, ld: l.heads * l.size }
    : { offset: (b * l.heads + h) * l.seq * l.size, ld: l.size };
}

/** present = concat(past, new) along the sequence axis, as a contiguous [B, H, P+S, D] array. */
export function concatCache(past: FloatArray | undefined, pastLen: number, cur: HeadLayout, out: FloatArray): void {
  const { batch, heads, seq, size } = cur;
  const total = pastLen + seq;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      const dst = (b * heads + h) * total * size;
      if (past) out.set(past.subarray((b * heads + h) * pastLen * size, (b * heads + h + 1) * pastLen * size), dst);
      const { offset, ld } = headAt(cur, b, h);
      for (let s = 0; s < seq; s++) {
        out.set(cur.data.subarray(offset + s * ld, offset + s * ld + size), dst + (pastLen + s) * size);
      }
    }
  }
}

/** The additive bias of score (b, h, i, j): mask value, causal and padding exclusions. */
export interface Bias {
  /** Float mask values (bool masks already mapped to 0 / −∞), read at broadcast strides. */
  readonly mask?: { readonly data: Float64Array; readonly strides: readonly number[]; readonly len: number };
  readonly causal: boolean;
  /** Keys a query at row i may see when causal: j ≤ i + offset[b]. */
  readonly offset: (b: number) => number;
  /** Valid key count per batch entry (nonpad_kv_seqlen); keys beyond it are excluded. */
  readonly valid?: (b: number) => number;
}

export interface AttentionOptions {
  readonly scale: number;
  readonly softcap: number;
  /**
   * The intermediate reported as qk_matmul_output, as ONNX's reference computes it: 0 and 1 the
   * (softcapped) scores, 2 the scores with the bias added, 3 the probabilities; −1 none.
   */
  readonly qkMode: number;
}

/**
 * Y for every query head; K and V are contiguous [B, Hkv, T, D] (the present caches), Q and Y
 * use their layouts. Query head h reads key head ⌊h / (Hq/Hkv)⌋ (grouped-query attention).
 * `qk` receives the requested intermediate as [B, Hq, Sq, T].
 */
export function attention(q: HeadLayout, k: FloatArray, v: FloatArray, kvHeads: number, total: number, vSize: number,
  y: HeadLayout, bias: Bias, o: AttentionOptions, qk: FloatArray | undefined): void {
  const { batch, heads, seq, size } = q;
  const group = heads / kvHeads;
  const s = new Float64Array(seq * total);
  const kv = { heads: kvHeads, seq: total, packed: false };
  for (let b = 0; b < batch; b++) {
    const valid = bias.valid ? bias.valid(b) : total;
    const offset = bias.offset(b);
    for (let h = 0; h < heads; h++) {
      const hk = Math.floor(h / group);
      const qa = headAt(q, b, h);
      const ka = headAt({ ...kv, size }, b, hk);
      sgemm(seq, total, size, view(q.data, qa.offset, qa.ld), view(k, ka.offset, ka.ld, true), view(s, 0, total), { alpha: o.scale });
      const qkBase = ((b * heads + h) * seq) * total;
      for (let i = 0; i < seq; i++) {
        const row = i * total;
        const maskRow = bias.mask ? maskOffset(bias.mask.strides, b, h, i) : 0;
        for (let j = 0; j < total; j++) {
          let x = s[row + j]!;
          if (o.softcap > 0) x = o.softcap * Math.tanh(x / o.softcap);
          if (qk && o.qkMode <= 1) qk[qkBase + row + j] = x;
          if (bias.mask) x += j < bias.mask.len ? bias.mask.data[maskRow + j * bias.mask.strides[3]!]! : -Infinity;
          if ((bias.causal && j > i + offset) || j >= valid) x = -Infinity;
          s[row + j] = x;
          if (qk && o.qkMode === 2) qk[qkBase + row + j] = x;
        }
        softmaxRow(s, row, total);
        if (qk && o.qkMode === 3) for (let j = 0; j < total; j++) qk[qkBase + row + j] = s[row + j]!;
      }
      const va = headAt({ ...kv, size: vSize }, b, hk);
      const ya = headAt(y, b, h);
      sgemm(seq, vSize, total, view(s, 0, total), view(v, va.offset, va.ld), view(y.data, ya.offset, ya.ld));
    }
  }
}

function maskOffset(st: readonly number[], b: number, h: number, i: number): number {
  return b * st[0]! + h * st[1]! + i * st[2]!;
}

/**
 * Softmax of one row in place. A row whose every score is −∞ (fully masked) attends to nothing:
 * its probabilities are 0 rather than the NaN of exp(−∞ − −∞).
 */
function softmaxRow(s: Float64Array, base: number, n: number): void {
  let max = -Infinity;
  for (let j = 0; j < n; j++) if (s[base + j]! > max) max = s[base + j]!;
  if (max === -Infinity) {
    s.fill(0, base, base + n);
    return;
  }
  let sum = 0;
  for (let j = 0; j < n; j++) {
    const e = Math.exp(s[base + j]! - max);
    s[base + j] = e;
    sum += e;
  }
  for (let j = 0; j < n; j++) s[base + j]! /= sum;
}
