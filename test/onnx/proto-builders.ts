/** Small builders for ONNX protobufs, so tests can write exactly the (bad) model they need. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  onnx,
  type AttributeProto, type GraphProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto,
} from "../../src/onnx/proto.js";

export const FLOAT = 1;
export const INT64 = 7;

export function encodeModel(graph: GraphProto, extra: ModelProto = {}): Uint8Array {
  const props: ModelProto = { irVersion: 8, opsetImport: [{ domain: "", version: 17 }], producerName: "test", graph, ...extra };
  return onnx.ModelProto.encode(onnx.ModelProto.create(props)).finish();
}

/** A float32 tensor in raw_data. */
export function floatTensor(name: string, dims: number[], values: number[]): TensorProto {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(Float32Array.from(values).buffer) };
}

/** A value declaration; a dim is a number (dim_value), a string (dim_param) or null (neither). */
export function valueInfo(name: string, elemType: number, dims: (number | string | null)[] | null): ValueInfoProto {
  const shape = dims && {
    dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : typeof d === "string" ? { dimParam: d } : {})),
  };
  return { name, type: { tensorType: shape ? { elemType, shape } : { elemType } } };
}

export function node(opType: string, input: string[], output: string[], attribute: AttributeProto[] = [], name = ""): NodeProto {
  return { opType, input, output, attribute, name };
}

/** y = Relu(x) on float [2, 3], plus `extra` graph fields. */
export function reluGraph(extra: GraphProto = {}): GraphProto {
  return {
    name: "g",
    node: [node("Relu", ["x"], ["y"])],
    input: [valueInfo("x", FLOAT, [2, 3])],
    output: [valueInfo("y", FLOAT, [2, 3])],
    ...extra,
  };
}

/** A fresh temporary folder and a function removing it. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "hwac-onnx-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeModel(dir: string, graph: GraphProto, extra: ModelProto = {}, file = "model.onnx"): string {
  const path = join(dir, file);
  writeFileSync(path, encodeModel(graph, extra));
  return path;
}
