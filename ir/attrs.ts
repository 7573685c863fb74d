import type { Attr, AttrKind, Graph, Node } from "./graph.js";
import { HwacError } from "./errors.js";
import type { Tensor } from "./tensor.js";

/** Typed access to a node's attributes, with errors that name the node. */
export class Attrs {
  constructor(private readonly node: Node) {}

  has(name: string): boolean {
    return name in this.node.attrs;
  }

  private get<K extends AttrKind>(name: string, kind: K): Extract<Attr, { kind: K }> | undefined {
    const a = this.node.attrs[name];
    if (a === undefined) return undefined;
    if (a.kind !== kind) {
      throw new HwacError("HW2010", `attribute '${name}' must be of kind ${kind}, got ${a.kind}`, {
        node: this.node.name,
        op: this.node.op,
      });
    }
    return a as Extract<Attr, { kind: K }>;
  }

  private missing(name: string): never {
    throw new HwacError("HW2011", `required attribute '${name}' is missing`, { node: this.node.name, op: this.node.op });
  }

  int(name: string, dflt?: number): number {
    return this.get(name, "int")?.value ?? dflt ?? this.missing(name);
  }
  float(name: string, dflt?: number): number {
    // ONNX producers sometimes write an int where a float is expected.
    const a = this.node.attrs[name];
    if (a?.kind === "int") return a.value;
    return this.get(name, "float")?.value ?? dflt ?? this.missing(name);
  }
  string(name: string, dflt?: string): string {
    return this.get(name, "string")?.value ?? dflt ?? this.missing(name);
  }
  ints(name: string, dflt?: readonly number[]): readonly number[] {
    return this.get(name, "ints")?.value ?? dflt ?? this.missing(name);
  }
  floats(name: string, dflt?: readonly number[]): readonly number[] {
    return this.get(name, "floats")?.value ?? dflt ?? this.missing(name);
  }
  strings(name: string, dflt?: readonly string[]): readonly string[] {
    return this.get(name, "strings")?.value ?? dflt ?? this.missing(name);
  }
  tensor(name: string): Tensor {
    return this.get(name, "tensor")?.value ?? this.missing(name);
  }
  graph(name: string): Graph {
    return this.get(name, "graph")?.value ?? this.missing(name);
  }
  /** Optional variants return undefined when absent. */
  optInts(name: string): readonly number[] | undefined {
    return this.get(name, "ints")?.value;
  }
  optInt(name: string): number | undefined {
    return this.get(name, "int")?.value;
  }
  optFloat(name: string): number | undefined {
    return this.has(name) ? this.float(name) : undefined;
  }
  optFloats(name: string): readonly number[] | undefined {
    return this.get(name, "floats")?.value;
  }
  optTensor(name: string): Tensor | undefined {
    return this.get(name, "tensor")?.value;
  }
  optString(name: string): string | undefined {
    return this.get(name, "string")?.value;
  }
}
