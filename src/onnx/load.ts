/**
 * ONNX model → IR Model. Translation only: no op support checks, no validation beyond what
 * the IR needs to represent the model, no rewriting (src/passes does that). Any input bytes
 * either load or fail with a HwacError.
 */
import path from "node:path";
import type { Attr, Graph, Model, Node, TensorType, ValueDecl } from "../../ir/graph.js";
import { fail, type Where } from "../../ir/errors.js";
import type { Tensor } from "../../ir/tensor.js";
import { CODES } from "./codes.js";
import { fileSource, readWholeFile, withFile, type ByteSource } from "./io.js";
import { LOAD_DEFAULTS, type LoadOptions } from "./options.js";
import {
  approxNumber, decodeProto, onnx, safeNumber,
  type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto,
} from "./proto.js";
import { splitModel, type Span } from "./split.js";
import { decodeTensor } from "./tensor-proto.js";
import { tensorType } from "./value-types.js";

export interface DecodeOptions extends LoadOptions {
  /** The model's path, named in messages. */
  readonly file: string;
  /** The folder external tensor data is resolved in and confined to (the model's folder). */
  readonly baseDir: string;
}

/** Subgraph nesting deeper than this is rejected rather than risking the stack. */
const MAX_DEPTH = 100;

/**
 * ONNX lets subgraph inputs and outputs omit their types (inference recovers them). The IR
 * needs a type, so such values are declared float32 of unknown rank.
 */
const UNDECLARED: TensorType = { dtype: "float32", shape: null };

const AT = onnx.AttributeProto.AttributeType;
const utf8 = new TextDecoder("utf-8");

export function loadModel(file: string, opts: LoadOptions = {}): Model {
  const options: DecodeOptions = { ...opts, file, baseDir: path.dirname(file) };
  const maxBytes = opts.maxModelBytes ?? LOAD_DEFAULTS.maxModelBytes;
  const split = withFile(file, "model file", { file }, (fd, size) =>
    size <= maxBytes ? decodeSplit(fileSource(fd, size, { file }), options) : undefined);
  return split ?? decodeWhole(readWholeFile(file, "model file", maxBytes, { file }), options);
}

export function decodeModel(bytes: Uint8Array, opts: DecodeOptions): Model {
  const inMemory: ByteSource = { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
  const split = bytes.length <= (opts.maxModelBytes ?? LOAD_DEFAULTS.maxModelBytes) ? decodeSplit(inMemory, opts) : undefined;
  return split ?? decodeWhole(bytes, opts);
}

/**
 * The model decoded with its top graph's initializers read one at a time (split.ts), or
 * undefined when the bytes do not split or anything about them fails: the whole-message decoder
 * then runs, so a bad model fails with the same error, in the same order, either way.
 */
function decodeSplit(src: ByteSource, opts: DecodeOptions): Model | undefined {
  const where: Where = { file: opts.file };
  try {
    const split = splitModel(src);
    if (!split) return undefined;
    const mp = decodeProto((b) => onnx.ModelProto.decode(b), split.rest, "ONNX model", where);
    return translate(mp, opts, decodeEach(split.initializers, src, where));
  } catch {
    return undefined;
  }
}

/** Each span's TensorProto, decoded only when the previous one has been translated (its bytes may be reused). */
function* decodeEach(spans: readonly Span[], src: ByteSource, where: Where): Generator<TensorProto> {
  for (const s of spans) yield decodeProto((b) => onnx.TensorProto.decode(b), src.read(s.start, s.end - s.start), "ONNX model", where);
}

function decodeWhole(bytes: Uint8Array, opts: DecodeOptions): Model {
  const where: Where = { file: opts.file };
  const maxBytes = opts.maxModelBytes ?? LOAD_DEFAULTS.maxModelBytes;
  if (bytes.length > maxBytes) {
    fail(CODES.limit, `the model has ${bytes.length} bytes, more than the limit of ${maxBytes} (LoadOptions.maxModelBytes)`, where);
  }
  return translate(decodeProto((b) => onnx.ModelProto.decode(b), bytes, "ONNX model", where), opts);
}

/** `initializers`: the top graph's, when they are not in `mp` (a split decode). */
function translate(mp: ModelProto, opts: DecodeOptions, initializers?: Iterable<TensorProto>): Model {
  const where: Where = { file: opts.file };
  if (!mp.graph) fail(CODES.invalidFile, "not a valid ONNX model: it has no graph", where);
  if (mp.functions?.length) {
    const names = mp.functions.map((f) => `${f.domain ?? ""}:${f.name ?? ""}`).join(", ");
    fail(CODES.unsupported, `the model defines local functions (${names}), which are not supported`, where);
  }
  const reserved = new Set<string>();
  collectNodeNames(mp.graph, reserved, 0, where);
  const graph = new GraphDecoder(opts, reserved).graph(mp.graph, 0, where, initializers);
  return {
    irVersion: approxNumber(mp.irVersion ?? 0),
    opsets: decodeOpsets(mp, where),
    producer: `${mp.producerName ?? ""} ${mp.producerVersion ?? ""}`.trim(),
    graph,
    source: opts.file,
  };
}

/** ai.onnx is the default domain, which the IR spells "". */
function normDomain(domain: string): string {
  return domain === "ai.onnx" ? "" : domain;
}

function decodeOpsets(mp: ModelProto, where: Where): Record<string, number> {
  const opsets = new Map<string, number>();
  for (const o of mp.opsetImport ?? []) {
    const domain = normDomain(o.domain ?? "");
    const version = safeNumber(o.version ?? 0);
    if (opsets.has(domain)) fail(CODES.malformed, `opset_import lists domain '${domain}' twice`, where);
    if (!(version >= 1)) fail(CODES.malformed, `opset_import of domain '${domain}' has version ${String(o.version)}`, where);
    opsets.set(domain, version);
  }
  return Object.fromEntries(opsets);
}

function checkDepth(depth: number, where: Where): void {
  if (depth > MAX_DEPTH) fail(CODES.limit, `subgraphs are nested more than ${MAX_DEPTH} levels deep`, where);
}

/** Every explicit node name in the model, so generated names never take one. */
function collectNodeNames(gp: GraphProto, into: Set<string>, depth: number, where: Where): void {
  checkDepth(depth, where);
  for (const np of gp.node ?? []) {
    if (np.name) into.add(np.name);
    for (const ap of np.attribute ?? []) {
      if (ap.g) collectNodeNames(ap.g, into, depth + 1, where);
      for (const g of ap.graphs ?? []) collectNodeNames(g, into, depth + 1, where);
    }
  }
}

class GraphDecoder {
  private readonly usedNames = new Set<string>();
  private nodeCount = 0;

  constructor(
    private readonly opts: DecodeOptions,
    private readonly reservedNames: ReadonlySet<string>,
  ) {}

  /**
   * `owner` locates the graph for messages: the file, plus the node for subgraphs.
   * `initializerProtos` replace `gp.initializer` when those were decoded apart.
   */
  graph(gp: GraphProto, depth: number, owner: Where, initializerProtos: Iterable<TensorProto> = gp.initializer ?? []): Graph {
    checkDepth(depth, owner);
    const gname = gp.name ?? "";
    if (gp.sparseInitializer?.length) {
      const name = gp.sparseInitializer[0]!.values?.name ?? "";
      fail(CODES.unsupported, `graph '${gname}' has sparse initializer '${name}'; sparse tensors are not supported`, owner);
    }
    const initializers = new Map<string, Tensor>();
    for (const tp of initializerProtos) {
      const name = tp.name ?? "";
      if (!name) fail(CODES.malformed, `graph '${gname}' has an initializer without a name`, owner);
      if (initializers.has(name)) fail(CODES.malformed, `graph '${gname}' defines initializer '${name}' twice`, owner);
      initializers.set(name, this.tensor(tp, owner));
    }
    const main = depth === 0;
    // Models before IR version 4 list every initializer as an input too; they are constants.
    const inputs = (gp.input ?? [])
      .filter((v) => !initializers.has(v.name ?? ""))
      .map((v) => this.valueDecl(v, "input", main, owner));
    const outputs = (gp.output ?? []).map((v) => this.valueDecl(v, "output", main, owner));
    const valueTypes = new Map<string, TensorType>();
    for (const v of gp.valueInfo ?? []) {
      const type = tensorType(v.type, `value '${v.name ?? ""}'`, owner);
      if (type && v.name) valueTypes.set(v.name, type);
    }
    const nodes = (gp.node ?? []).map((np, i) => this.node(np, i, gname, depth));
    return { name: gname, inputs, outputs, initializers, nodes, valueTypes };
  }

  private valueDecl(v: ValueInfoProto, role: string, main: boolean, where: Where): ValueDecl {
    const name = v.name ?? "";
    if (!name) fail(CODES.malformed, `a graph ${role} has no name`, where);
    const type = tensorType(v.type, `graph ${role} '${name}'`, where);
    if (type) return { name, type };
    if (main) fail(CODES.malformed, `graph ${role} '${name}' has no tensor type`, where);
    return { name, type: UNDECLARED };
  }

  private node(np: NodeProto, index: number, gname: string, depth: number): Node {
    const file = this.opts.file;
    const maxNodes = this.opts.maxNodes ?? LOAD_DEFAULTS.maxNodes;
    if (++this.nodeCount > maxNodes) {
      fail(CODES.limit, `the model has more than ${maxNodes} nodes (LoadOptions.maxNodes)`, { file });
    }
    const op = np.opType ?? "";
    if (!op) fail(CODES.malformed, `node ${index} ('${np.name ?? ""}') of graph '${gname}' has no op_type`, { file });
    const name = this.claimName(np.name || `${op}_${index}`, !!np.name);
    const where: Where = { file, node: name, op };
    const attrs = new Map<string, Attr>();
    for (const ap of np.attribute ?? []) {
      const an = ap.name ?? "";
      if (!an) fail(CODES.malformed, "an attribute has no name", where);
      if (attrs.has(an)) fail(CODES.malformed, `attribute '${an}' is given twice`, where);
      attrs.set(an, this.attr(ap, an, where, depth));
    }
    return {
      op,
      domain: normDomain(np.domain ?? ""),
      name,
      inputs: [...(np.input ?? [])],
      outputs: [...(np.output ?? [])],
      // fromEntries defines own properties, so even an attribute named "__proto__" stays data.
      attrs: Object.fromEntries(attrs),
    };
  }

  /**
   * A model-wide unique node name. An explicit name is kept on its first use; generated names
   * and later duplicates get a `_k` suffix that avoids every explicit name in the model.
   */
  private claimName(base: string, explicit: boolean): string {
    const free = (c: string): boolean =>
      !this.usedNames.has(c) && !(this.reservedNames.has(c) && !(explicit && c === base));
    let name = base;
    for (let k = 1; !free(name); k++) name = `${base}_${k}`;
    this.usedNames.add(name);
    return name;
  }

  private attr(ap: AttributeProto, name: string, where: Where, depth: number): Attr {
    if (ap.refAttrName) {
      fail(CODES.unsupported, `attribute '${name}' refers to function attribute '${ap.refAttrName}'; functions are not supported`, where);
    }
    const present = <T>(v: T | null | undefined, what: string): T =>
      v ?? fail(CODES.malformed, `attribute '${name}' of type ${what} has no value`, where);
    switch (ap.type ?? AT.UNDEFINED) {
      case AT.FLOAT: return { kind: "float", value: ap.f ?? 0 };
      case AT.INT: return { kind: "int", value: approxNumber(ap.i ?? 0) };
      case AT.STRING: return { kind: "string", value: utf8.decode(ap.s ?? new Uint8Array(0)) };
      case AT.TENSOR: return { kind: "tensor", value: this.tensor(present(ap.t, "TENSOR"), where) };
      case AT.GRAPH: return { kind: "graph", value: this.graph(present(ap.g, "GRAPH"), depth + 1, where) };
      case AT.FLOATS: return { kind: "floats", value: [...(ap.floats ?? [])] };
      case AT.INTS: return { kind: "ints", value: (ap.ints ?? []).map(approxNumber) };
      case AT.STRINGS: return { kind: "strings", value: (ap.strings ?? []).map((s) => utf8.decode(s)) };
      case AT.TENSORS: return { kind: "tensors", value: (ap.tensors ?? []).map((t) => this.tensor(t, where)) };
      case AT.GRAPHS: return { kind: "graphs", value: (ap.graphs ?? []).map((g) => this.graph(g, depth + 1, where)) };
      case AT.SPARSE_TENSOR: case AT.SPARSE_TENSORS:
        return fail(CODES.unsupported, `attribute '${name}' holds a sparse tensor; sparse tensors are not supported`, where);
      case AT.TYPE_PROTO: case AT.TYPE_PROTOS:
        return fail(CODES.unsupported, `attribute '${name}' holds a type; type attributes are not supported`, where);
      case AT.UNDEFINED:
        return fail(CODES.malformed, `attribute '${name}' has no type (required since IR version 2)`, where);
      default:
        return fail(CODES.malformed, `attribute '${name}' has unknown type ${ap.type}`, where);
    }
  }

  private tensor(tp: TensorProto, where: Where): Tensor {
    return decodeTensor(tp, { where, baseDir: this.opts.baseDir, maxTensorElements: this.opts.maxTensorElements });
  }
}
