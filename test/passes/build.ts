/** Small hand-built models for the pass tests. */
import { expect } from "vitest";
import type { DType } from "../../ir/dtype.js";
import type { Attr, Dim, Graph, Model, Node, TensorType, ValueDecl } from "../../ir/graph.js";
import type { Tensor } from "../../ir/tensor.js";

export const type = (dtype: DType, shape: readonly Dim[] | null): TensorType => ({ dtype, shape });
export const f32t = (...shape: Dim[]): TensorType => type("float32", shape);
export const decl = (name: string, t: TensorType): ValueDecl => ({ name, type: t });

/** A node named after its first output unless `name` is given. */
export function node(op: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}, name?: string): Node {
  return { op, domain: "", name: name ?? outputs[0]!, inputs, outputs, attrs };
}

export const int = (value: number): Attr => ({ kind: "int", value });
export const float = (value: number): Attr => ({ kind: "float", value });
export const graphAttr = (value: Graph): Attr => ({ kind: "graph", value });
export const tensorAttr = (value: Tensor): Attr => ({ kind: "tensor", value });

export function graph(parts: {
  name?: string;
  inputs?: ValueDecl[];
  outputs?: ValueDecl[];
  initializers?: [string, Tensor][];
  nodes?: Node[];
  valueTypes?: [string, TensorType][];
}): Graph {
  return {
    name: parts.name ?? "g",
    inputs: parts.inputs ?? [],
    outputs: parts.outputs ?? [],
    initializers: new Map(parts.initializers ?? []),
    nodes: parts.nodes ?? [],
    valueTypes: new Map(parts.valueTypes ?? []),
  };
}

export function model(g: Graph, opset = 17): Model {
  return { irVersion: 8, opsets: { "": opset }, producer: "test", graph: g };
}

/** Node summaries `out1,out2 = Op(in1, in2) @name`: compact, and exact about wiring and names. */
export function wiring(g: Graph): string[] {
  return g.nodes.map((n) => `${n.outputs.join(",")} = ${n.op}(${n.inputs.join(", ")}) @${n.name}`);
}

/** Runs `pass` on `m` and checks that `m` is exactly as it was. */
export function unchanged<T>(m: Model, pass: (m: Model) => T): T {
  const before = structuredClone(m);
  const out = pass(m);
  expect(m).toEqual(before);
  return out;
}

/** The element values of a tensor as plain numbers (int64 included). */
export const values = (t: Tensor | undefined): number[] => Array.from(t!.data as ArrayLike<number | bigint>, Number);
