/** Running the CLI in-process in tests. */
import { main } from "../../src/cli/main.js";

/** Runs `hwac argv…` in this process, capturing what it prints; resolves to the exit code and output. */
export async function hwac(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv, (s) => (out += s));
    return { code, out, err };
  } finally {
    process.stderr.write = write;
  }
}
