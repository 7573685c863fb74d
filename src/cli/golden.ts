/** `hwac golden record|check <suite> [--update]`: golden-output regression suites (src/golden.ts). */
import type { Command } from "commander";
import { HwacError } from "../../ir/errors.js";
import { checkCase, formatChecks, readSuite, recordCase } from "../golden.js";

export function registerGolden(program: Command, out: (s: string) => void): void {
  const golden = program.command("golden").description("golden-output regression suites: record expected results, check a compiler change against them");
  golden
    .command("record")
    .description("compile and run every case of the suite and write its expected/ folder")
    .argument("<suite>", "a case folder (with case.json) or a folder of them")
    .option("--json", "machine-readable result")
    .action((suite: string, o: { json?: boolean }) => {
      const recorded: { case: string; targets: string[] }[] = [];
      for (const c of readSuite(suite)) {
        recordCase(c);
        recorded.push({ case: c.name, targets: c.spec.targets });
        if (!o.json) out(`recorded ${c.name} (${c.spec.targets.join(", ")})\n`);
      }
      if (o.json) out(JSON.stringify(recorded) + "\n");
    });
  golden
    .command("check")
    .description("recompile and re-simulate every case; exit 1 with a diff when results moved")
    .argument("<suite>", "a case folder (with case.json) or a folder of them")
    .option("--update", "accept the new results as expected")
    .option("--json", "machine-readable result")
    .action((suite: string, o: { update?: boolean; json?: boolean }) => {
      const cases = readSuite(suite);
      const checks = cases.flatMap(checkCase);
      out(o.json ? JSON.stringify(checks, null, 2) + "\n" : formatChecks(checks) + "\n");
      const failed = checks.filter((k) => k.problems.length > 0);
      if (failed.length === 0) return;
      if (o.update) {
        for (const c of cases.filter((c) => failed.some((k) => k.case === c.name))) recordCase(c);
        out(`updated ${new Set(failed.map((k) => k.case)).size} case(s)\n`);
        return;
      }
      throw new HwacError("HW6041", `${failed.length} golden check(s) failed; run with --update to accept the new results`, { file: suite });
    });
}
