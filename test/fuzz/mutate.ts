/**
 * Structured mutations of ONNX models: each mutation names a kind, two selectors (which
 * node/tensor/attribute, which position) and a value. They are applied to a freshly decoded
 * ModelProto, which is then re-encoded, so every mutant is well-formed protobuf that breaks
 * ONNX's rules in one targeted way.
 */
import fc from "fast-check";
import {
  onnx,
  type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto,
} from "../../src/onnx/proto.js";

const KINDS = [
  "dim", "dtype", "rawData", "dangling", "cycle", "dupOutput", "attrKind", "hugeAttr", "attrValue",
  "dropSubgraph", "opset", "dropNode", "arity", "graphIO", "opType", "swapNodes",
] as const;
export type Kind = (typeof KINDS)[number];

export interface Mutation {
  readonly kind: Kind;
  readonly a: number;
  readonly b: number;
  readonly v: number;
}

/** Values that break size, sign and range assumptions: negative, zero, huge, past 2^31 and 2^53, NaN. */
export const ABSURD = [-1, -2, -7, 0, 1, 3, 255, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 40, 2 ** 53 + 2, -(2 ** 40), 1e9] as const;

export const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom(...KINDS),
  a: fc.nat(1 << 16),
  b: fc.nat(1 << 16),
  v: fc.oneof(fc.constantFrom(...ABSURD), fc.integer({ min: -8, max: 32 })),
});

export const mutationsArb = fc.array(mutationArb, { minLength: 1, maxLength: 4 });

interface Targets {
  graphs: GraphProto[];
  nodes: { node: NodeProto; graph: GraphProto; index: number }[];
  tensors: TensorProto[];
  values: ValueInfoProto[];
  attrs: AttributeProto[];
}

function collect(g: GraphProto, t: Targets): void {
  t.graphs.push(g);
  t.tensors.push(...(g.initializer ?? []));
  t.values.push(...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? []));
  (g.node ?? []).forEach((node, index) => {
    t.nodes.push({ node, graph: g, index });
    for (const ap of node.attribute ?? []) {
      t.attrs.push(ap);
      if (ap.t) t.tensors.push(ap.t);
      if (ap.g) collect(ap.g, t);
      for (const s of ap.graphs ?? []) collect(s, t);
    }
  });
}

function pick<T>(xs: readonly T[], sel: number): T | undefined {
  return xs.length ? xs[sel % xs.length] : undefined;
}

const AT = onnx.AttributeProto.AttributeType;

/** Decodes `bytes`, applies `muts` in order and re-encodes. protobufjs's default repeated fields are shared, so arrays are replaced, never pushed to. */
export function mutateModel(bytes: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  const mp = onnx.ModelProto.decode(bytes);
  for (const m of muts) apply(mp, m);
  return onnx.ModelProto.encode(mp).finish();
}

function apply(mp: ModelProto, m: Mutation): void {
  const t: Targets = { graphs: [], nodes: [], tensors: [], values: [], attrs: [] };
  if (mp.graph) collect(mp.graph, t);
  const { a, b, v } = m;
  switch (m.kind) {
    case "dim": {
      const tp = pick(t.tensors, a);
      const dims = tp?.dims ?? [];
      if (tp && dims.length && a % 2 === 0) {
        tp.dims = dims.map((d, i) => (i === b % dims.length ? v : d));
        return;
      }
      const shape = pick(t.values, a)?.type?.tensorType?.shape;
      const dim = shape && pick(shape.dim ?? [], b);
      if (dim) {
        dim.dimValue = v;
        dim.dimParam = "";
      }
      return;
    }
    case "dtype": {
      const code = ((v % 26) + 26) % 26;
      if (a % 2 === 0) {
        const tp = pick(t.tensors, b);
        if (tp) tp.dataType = code;
      } else {
        const tt = pick(t.values, b)?.type?.tensorType;
        if (tt) tt.elemType = code;
      }
      return;
    }
    case "rawData": {
      const tp = pick(t.tensors, a);
      const raw = tp?.rawData;
      if (!tp || !raw?.length) return;
      const len = v < 0 ? Math.max(0, raw.length + v) : b % 2 ? raw.length + (b % 9) : (b % (raw.length + 1));
      const out = new Uint8Array(len);
      out.set(raw.subarray(0, Math.min(len, raw.length)));
      tp.rawData = out;
      return;
    }
    case "dangling": {
      const n = pick(t.nodes, a)?.node;
      if (n?.input?.length) n.input = n.input.map((x, i) => (i === b % n.input!.length ? `fuzz_dangling_${v}` : x));
      return;
    }
    case "cycle": {
      // A node reading its own output, or the output of a node after it in the same graph.
      const e = pick(t.nodes, a);
      if (!e?.node.input?.length) return;
      const later = (e.graph.node ?? []).slice(e.index).flatMap((n) => n.output ?? []);
      const target = pick(later, b);
      if (target !== undefined) e.node.input = e.node.input.map((x, i) => (i === v % e.node.input!.length || i === 0 ? target : x));
      return;
    }
    case "dupOutput": {
      const e = pick(t.nodes, a);
      const names = [...(e?.graph.input ?? []).map((i) => i.name ?? ""), ...(e?.graph.node ?? []).flatMap((n) => n.output ?? [])];
      const name = pick(names, b);
      if (e?.node.output?.length && name !== undefined) e.node.output = e.node.output.map((x, i) => (i === 0 ? name : x));
      return;
    }
    case "attrKind": {
      const ap = pick(t.attrs, a);
      if (ap) ap.type = ((v % 15) + 15) % 15;
      return;
    }
    case "hugeAttr": {
      const n = pick(t.nodes, a)?.node;
      if (!n) return;
      const count = 10_000 + (b % 20_000);
      const huge: AttributeProto = b % 2
        ? { name: `fuzz_${v}`, type: AT.INTS, ints: new Array<number>(count).fill(v) }
        : { name: `fuzz_${v}`, type: AT.FLOATS, floats: new Array<number>(count).fill(v) };
      // Either a new attribute or an existing one (a real name) with a huge value list.
      const existing = pick(n.attribute ?? [], b);
      if (existing && a % 2) {
        existing.type = huge.type;
        existing.ints = huge.ints ?? [];
        existing.floats = huge.floats ?? [];
      } else {
        n.attribute = [...(n.attribute ?? []), onnx.AttributeProto.create(huge)];
      }
      return;
    }
    case "attrValue": {
      const ap = pick(t.attrs, a);
      if (!ap) return;
      if (ap.type === AT.INT) ap.i = v;
      else if (ap.type === AT.FLOAT) ap.f = [NaN, Infinity, -Infinity, 0, -1e30, v][b % 6]!;
      else if (ap.type === AT.INTS) {
        const len = b % 2 ? (ap.ints?.length ?? 0) : b % 7;
        ap.ints = Array.from({ length: len }, (_, i) => (i === b % Math.max(len, 1) ? v : (ap.ints?.[i] ?? 1)));
      } else if (ap.type === AT.FLOATS) ap.floats = (ap.floats ?? []).slice(0, b % 5);
      else if (ap.type === AT.STRING) ap.s = new TextEncoder().encode(["", "NOTSET", "\u00ff", String(v)][b % 4]);
      return;
    }
    case "dropSubgraph": {
      const ap = pick(t.attrs.filter((x) => x.g || x.graphs?.length), a);
      if (!ap) return;
      if (b % 2 && ap.g) {
        ap.g = null;
      } else if (ap.g?.node?.length) {
        ap.g.node = [];
      } else {
        ap.graphs = [];
      }
      return;
    }
    case "opset": {
      const o = pick(mp.opsetImport ?? [], a);
      if (o) o.version = v;
      else mp.opsetImport = [{ domain: "", version: v }];
      return;
    }
    case "dropNode": {
      const e = pick(t.nodes, a);
      if (e) e.graph.node = (e.graph.node ?? []).filter((_, i) => i !== e.index);
      return;
    }
    case "arity": {
      const n = pick(t.nodes, a)?.node;
      if (!n) return;
      const ins = n.input ?? [];
      if (b % 3 === 0) n.input = ins.slice(0, Math.max(0, ins.length - 1));
      else if (b % 3 === 1) n.input = [...ins, ins[0] ?? "", ""];
      else n.output = [...(n.output ?? []), `fuzz_extra_${v}`];
      return;
    }
    case "graphIO": {
      const g = pick(t.graphs, a);
      if (!g) return;
      if (b % 2) g.output = (g.output ?? []).slice(1);
      else g.input = (g.input ?? []).slice(1);
      return;
    }
    case "opType": {
      const n = pick(t.nodes, a)?.node;
      const other = pick(t.nodes, b)?.node;
      const ops = ["Reshape", "Gather", "Conv", "Slice", "Concat", "Transpose", "Expand", "Tile", "Pad", "Resize", "If", "Split"];
      if (n) n.opType = v % 2 ? ops[Math.abs(v) % ops.length] : other?.opType ?? n.opType;
      return;
    }
    case "swapNodes": {
      const g = pick(t.graphs, a);
      const nodes = [...(g?.node ?? [])];
      if (!g || nodes.length < 2) return;
      const i = b % nodes.length;
      const j = Math.abs(v) % nodes.length;
      [nodes[i], nodes[j]] = [nodes[j]!, nodes[i]!];
      g.node = nodes;
      return;
    }
  }
}

/** Byte-level mutations: bit flips, truncation, and splices of one region over another. */
export const byteMutationArb = fc.record({
  op: fc.constantFrom("flip", "truncate", "splice", "insert"),
  pos: fc.double({ min: 0, max: 1, noNaN: true }),
  pos2: fc.double({ min: 0, max: 1, noNaN: true }),
  len: fc.integer({ min: 1, max: 64 }),
  bit: fc.integer({ min: 0, max: 7 }),
});
export type ByteMutation = typeof byteMutationArb extends fc.Arbitrary<infer T> ? T : never;

export function mutateBytes(src: Uint8Array, muts: readonly ByteMutation[]): Uint8Array {
  let b = Uint8Array.from(src);
  for (const m of muts) {
    const at = Math.floor(m.pos * b.length);
    const from = Math.floor(m.pos2 * b.length);
    switch (m.op) {
      case "flip":
        if (at < b.length) b[at]! ^= 1 << m.bit;
        break;
      case "truncate":
        b = b.slice(0, at);
        break;
      case "splice":
        b.copyWithin(at, from, from + m.len);
        break;
      case "insert": {
        const chunk = b.slice(from, from + m.len);
        const out = new Uint8Array(b.length + chunk.length);
        out.set(b.subarray(0, at));
        out.set(chunk, at);
        out.set(b.subarray(at), at + chunk.length);
        b = out;
        break;
      }
    }
  }
  return b;
}
