/**
 * What the simulator refuses, and that each message names the instruction by index and text:
 * DRAM out of bounds, scratchpad overflow, token deadlock, invalid operands, program shape,
 * configuration and input mismatches.
 */
import { describe, expect, it } from "vitest";
import {
  checkTokens, configHash, decodeProgram, encodeProgram, parseAsm, parseConfig, simulate, type Insn, type Program,
} from "../../backends/nna/index.js";
import { tensor } from "../../ir/tensor.js";
import { run, thrown } from "./helpers.js";

describe("addresses", () => {
  it("DRAM out of bounds names the instruction and the byte range", () => {
    const e = thrown(() => run(".nnab dram=0x1000\nload.acc sram=1 dram=0xfc0 y=2 x=1 ystride=64 mode=i32\nfinish"));
    expect(e.code).toBe("HW5030");
    expect(e.message).toBe(
      "instruction #0 `load.acc sram=1 dram=0xfc0 y=2 x=1 ystride=64 mode=i32`: out of bounds: reads DRAM bytes [0xfc0, 0x1040) but the DRAM has 0x1000 bytes",
    );
  });

  it("scratchpad overflow on load, gemm, vec and store", () => {
    const cases: [string, RegExp][] = [
      ["load.inp sram=4090 x=3 padleft=4", /#0 `load.inp sram=4090 x=3 padleft=4`: scratchpad overflow: writes inp vectors \[4090, 4097\) but inp holds 4096/],
      ["gemm acc=1000 rows=13 accstride=2", /#0 `gemm acc=1000 rows=13 accstride=2`: scratchpad overflow: writes acc vectors \[1000, 1025\) but acc holds 1024/],
      ["gemm wgt=1023 k=2", /reads wgt blocks \[1023, 1025\) but wgt holds 1024/],
      ["vec.add dst=65530 to=out dtype=i8", /writes out bytes \[65530, 65546\) but out holds 65536/],
      ["vec.lut16 src2=4000", /reads lut entries \[4000, 4513\) but lut holds 4096/],
      ["store sram=65000 y=2 x=600 srcstride=600", /reads out bytes \[65000, 66200\)/],
    ];
    for (const [insn, message] of cases) {
      const e = thrown(() => run(`${insn}\nfinish`));
      expect(e.code, insn).toBe("HW5031");
      expect(e.message, insn).toMatch(message);
    }
  });
});

describe("tokens", () => {
  it("a pop nobody pushes deadlocks, naming every waiting instruction", () => {
    const text = "load.inp x=1\ngemm pop=load\nstore x=16 pop=compute\nfinish";
    const e = thrown(() => run(text));
    expect(e.code).toBe("HW5032");
    expect(e.message).toBe(
      "token deadlock: no queue can proceed; #1 `gemm pop=load` (compute queue) waits for a token from load; " +
        "#2 `store x=16 pop=compute` (store queue) waits for a token from compute",
    );
    expect(() => checkTokens(parseAsm(text).insns)).toThrow(e.message);
  });

  it("two queues waiting on each other deadlock", () => {
    const e = thrown(() => checkTokens(parseAsm("load.inp x=1 pop=compute push=compute\ngemm pop=load push=load\nfinish").insns));
    expect(e.message).toBe(
      "token deadlock: no queue can proceed; #0 `load.inp x=1 pop=compute push=compute` (load queue) waits for a token from compute; " +
        "#1 `gemm pop=load push=load` (compute queue) waits for a token from load",
    );
  });

  it("finish waits for the other queues to drain", () => {
    const e = thrown(() => checkTokens(parseAsm("load.inp x=1 pop=compute\nfinish").insns));
    expect(e.message).toBe(
      "token deadlock: no queue can proceed; #0 `load.inp x=1 pop=compute` (load queue) waits for a token from compute; " +
        "#1 `finish` (compute queue) waits for the other queues to drain",
    );
  });

  it("matched tokens run", () => {
    expect(() => checkTokens(parseAsm("nop.compute push=load\nload.inp x=1 pop=compute push=compute\ngemm pop=load\nfinish").insns)).not.toThrow();
  });
});

describe("operands and program shape", () => {
  const program = (text: string): Program => parseAsm(text);

  it("a requant shift outside [-31, 30] names the instruction, the vector and the lane", () => {
    const e = thrown(() => run(".data addr=0x0 i32=[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,31]\nload.acc sram=1 dram=0x0 x=2 xstride=64 mode=i32 push=compute\nvec.requant src2=1 pop=load\nfinish"));
    expect(e.code).toBe("HW5033");
    expect(e.message).toBe("instruction #1 `vec.requant src2=1 pop=load`: requant shift 31 (acc vector 2, lane 0) is outside [-31, 30]");
  });

  it("an instruction check.ts refuses is named before anything runs", () => {
    const p = program("finish");
    p.insns.unshift({ ...parseAsm("load.wgt x=1").insns[0]!, padTop: 1 } as Insn);
    const e = thrown(() => simulate(decodeProgram(encodeProgram(p))));
    expect(e.code).toBe("HW5033");
    expect(e.message).toBe("instruction #0 `load.wgt x=1 padtop=1`: load.wgt cannot pad (padding applies to inp and acc)");
  });

  it("a field that does not fit its bits is refused by the simulator and the encoder alike", () => {
    const p = program("vec.add\nfinish");
    p.insns[0] = { ...p.insns[0]!, rows: 5000 } as Insn;
    const e = thrown(() => simulate(p));
    expect([e.code, e.message]).toEqual(["HW5033", "instruction #0 `vec.add rows=5000`: vec field rows must be an integer in [0, 4095], got 5000"]);
    expect(() => encodeProgram(p)).toThrow("vec field rows must be an integer in [0, 4095], got 5000");
  });

  it("finish must come once, last", () => {
    expect(thrown(() => run("nop.load")).message).toBe("the program has no finish instruction");
    expect(thrown(() => run("finish\nnop.store\nfinish")).message).toBe("finish must be the last instruction, but #0 of 3 is a finish");
  });

  it("a program for another machine, or without its inputs, does not run", () => {
    const other = parseConfig({ gemm: { blockOut: 32 } });
    const e = thrown(() => simulate(program("finish"), { config: other }));
    expect(e.code).toBe("HW5002");
    expect(e.message).toContain(`built for config ${program("finish").configHash}, but the machine's config is ${configHash(other)}`);
    const withInput = program('.tensor name="x" io=input dtype=int8 shape=[2] addr=0x0\nfinish');
    expect(thrown(() => simulate(withInput)).message).toBe('input "x" is not given');
    expect(thrown(() => simulate(withInput, { inputs: { x: tensor("int8", [3]) } })).message).toBe('input "x" must be int8[2], got int8[3]');
  });
});
