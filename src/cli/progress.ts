/**
 * Progress of long commands on stderr: a bar (cli-progress) when stderr is a terminal, one plain
 * line per stage or per tenth of the work otherwise (CI logs), nothing with --quiet.
 */
import cliProgress from "cli-progress";

export interface Progress {
  /** A named stage begins. */
  stage(name: string): void;
  /** `done` of `total` work items are finished. */
  count(done: number, total: number): void;
  done(): void;
}

export function progress(command: string, quiet: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (quiet) return { stage() {}, count() {}, done() {} };
  if (!stream.isTTY) {
    let lastTenth = -1;
    return {
      stage: (name) => void stream.write(`${command}: ${name}\n`),
      count: (done, total) => {
        const tenth = Math.floor((10 * done) / total);
        if (tenth === lastTenth) return;
        lastTenth = tenth;
        stream.write(`${command}: ${done}/${total}\n`);
      },
      done() {},
    };
  }
  const bar = new cliProgress.SingleBar(
    { stream, format: `${command} [{bar}] {value}/{total} {stage}`, hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stages = 0;
  const start = (total: number) => {
    if (!started) bar.start(total, 0, { stage: "" });
    started = true;
  };
  return {
    stage: (name) => {
      start(0);
      bar.update(stages++, { stage: name });
    },
    count: (done, total) => {
      start(total);
      bar.setTotal(total);
      bar.update(done, { stage: "" });
    },
    done: () => {
      if (started) bar.stop();
    },
  };
}
