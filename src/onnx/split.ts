/**
 * A ModelProto's bytes split around the top graph's initializers by reading field headers only:
 * the rest (nodes, types, opsets) is decoded as one small message and the initializers one at a
 * time, so loading never holds the whole file beside the tensors decoded from it. Only plainly
 * framed bytes are split (one graph field, every field of the model and of the graph a scalar or
 * length-delimited, no groups); anything else is left to the whole-message decoder.
 */
import type { ByteSource } from "./io.js";
import { fieldHeader } from "./proto.js";

/** ModelProto.graph and GraphProto.initializer (onnx.proto). */
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;

const LENGTH_DELIMITED = 2;

/** A byte range [start, end) of the source. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface SplitModel {
  /** The ModelProto's bytes without the top graph's initializers. */
  readonly rest: Uint8Array;
  /** Each initializer's TensorProto, in file order. */
  readonly initializers: readonly Span[];
}

interface Field extends Span {
  readonly field: number;
  readonly wire: number;
  /** Where a length-delimited field's value starts (after its key and length). */
  readonly body: number;
}

export function splitModel(src: ByteSource): SplitModel | undefined {
  const top = fields(src, 0, src.size);
  const graphs = top?.filter((f) => f.field === MODEL_GRAPH) ?? [];
  const graph = graphs[0];
  // protobufjs keeps the last of repeated singular fields, and reads any wire type as a message.
  if (!top || graphs.length !== 1 || graph!.wire !== LENGTH_DELIMITED) return undefined;
  const inner = fields(src, graph!.body, graph!.end);
  if (!inner || inner.some((f) => f.field === GRAPH_INITIALIZER && f.wire !== LENGTH_DELIMITED)) return undefined;
  const kept = inner.filter((f) => f.field !== GRAPH_INITIALIZER);
  const graphLength = kept.reduce((n, f) => n + f.end - f.start, 0);
  const header = fieldHeader(MODEL_GRAPH, graphLength);
  const length = top.reduce((n, f) => (f === graph ? n : n + f.end - f.start), header.length + graphLength);
  const rest = new Uint8Array(length);
  let at = 0;
  const copy = (b: Uint8Array): void => {
    rest.set(b, at);
    at += b.length;
  };
  for (const f of top) {
    if (f !== graph) {
      copy(src.read(f.start, f.end - f.start));
      continue;
    }
    copy(header);
    for (const k of kept) copy(src.read(k.start, k.end - k.start));
  }
  const initializers = inner.filter((f) => f.field === GRAPH_INITIALIZER).map((f) => ({ start: f.body, end: f.end }));
  return { rest, initializers };
}

/** The fields of the message at [start, end), or undefined when they do not tile it exactly. */
function fields(src: ByteSource, start: number, end: number): Field[] | undefined {
  const out: Field[] = [];
  for (let at = start; at < end; ) {
    const key = varint(src, at, end, 5);
    if (!key) return undefined;
    const wire = key.value & 7;
    let body = key.next;
    let next: number;
    if (wire === 0) {
      const v = varint(src, body, end, 10);
      if (!v) return undefined;
      next = v.next;
    } else if (wire === 1) {
      next = body + 8;
    } else if (wire === LENGTH_DELIMITED) {
      const n = varint(src, body, end, 5);
      if (!n) return undefined;
      body = n.next;
      next = body + n.value;
    } else if (wire === 5) {
      next = body + 4;
    } else {
      return undefined;
    }
    if (next > end) return undefined;
    out.push({ field: key.value >>> 3, wire, start: at, body, end: next });
    at = next;
  }
  return out;
}

/**
 * The varint at `at` of at most `maxBytes` bytes; keys and lengths (5 bytes) must fit 32 bits,
 * as protobufjs reads them.
 */
function varint(src: ByteSource, at: number, end: number, maxBytes: number): { value: number; next: number } | undefined {
  const b = src.read(at, Math.min(maxBytes, end - at));
  let value = 0;
  for (let i = 0; i < b.length; i++) {
    value += (b[i]! & 0x7f) * 2 ** (7 * i);
    if (b[i]! < 0x80) return maxBytes === 5 && value >= 2 ** 32 ? undefined : { value, next: at + i + 1 };
  }
  return undefined;
}
