// Entry point of the bundle: `node defender.js <command>`.

import { REQUIRED_ENV, isUnderGreengrass } from "../config/environment.js";
import { CommandError, UsageError } from "./errors.js";
import { STDOUT_CLOSED, stdoutFailure, stdoutWasClosed, writeAnswer } from "./stdout.js";
import { USAGE } from "./usage.js";
import { errorMessage } from "../util/log.js";
import { onStdoutError, whenWritten, writeStderr } from "../util/stdio.js";

function help(): number {
  writeAnswer(USAGE);
  return 0;
}

// Each command's module is loaded when it runs (the bundler keeps dynamic imports lazy), so the
// component, which runs none of them, does not hold their code in memory.
const COMMANDS: Record<string, (argv: string[]) => number | Promise<number>> = {
  collect: async (argv) => (await import("./collect.js")).collectCommand(argv),
  run: async (argv) => (await import("./run.js")).runCommand(argv),
  "check-profile": async (argv) => (await import("./detect.js")).checkProfileCommand(argv),
  replay: async (argv) => (await import("./detect.js")).replayCommand(argv),
  violations: async (argv) => (await import("./explore.js")).violationsCommand(argv),
  explore: async (argv) => (await import("./explore.js")).exploreCommand(argv),
  baseline: async (argv) => (await import("./baseline.js")).baselineCommand(argv),
  help,
  "--help": help,
  "-h": help,
};

/** The commands whose answer is their stdout. */
const STDOUT_COMMANDS = new Set(["collect", "check-profile", "replay", "violations", "explore"]);

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    // No command: component mode, as the nucleus starts it.
    // Loaded only here: the commands need none of the IPC client.
    if (isUnderGreengrass(process.env)) return (await import("../greengrass/component.js")).runComponent(process.env);
    const missing = REQUIRED_ENV.filter((k) => !process.env[k]).join(", ");
    writeStderr(`not started by Greengrass (${missing} not set); to watch reports on this machine use "run"\n\n${USAGE}`);
    return 2;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    writeStderr(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  // `run` decides for itself: with a connection it writes nothing to stdout.
  if (STDOUT_COMMANDS.has(command) && stdoutWasClosed()) {
    writeStderr(`ERROR ${STDOUT_CLOSED}\n`);
    return 1;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      writeStderr(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof CommandError) {
      writeStderr(`ERROR ${err.message}\n`);
      return 1;
    }
    writeStderr(`ERROR ${command}.failed reason=${JSON.stringify(errorMessage(err))}\n`);
    return 1;
  }
}

if (require.main === module) {
  // An answer that went to Node's stream (see ../util/stdio.ts) and whose reader went away.
  const stdoutFailed = (err: NodeJS.ErrnoException) => {
    writeStderr(`ERROR ${stdoutFailure(err)}\n`);
    process.exit(1);
  };
  onStdoutError(stdoutFailed);
  main(process.argv.slice(2)).then(
    (code) => {
      // A live IPC client keeps the event loop alive: leave explicitly once done, but only once
      // stdout has taken the answer.
      whenWritten((err) => (err ? stdoutFailed(err) : process.exit(code)));
    },
    (err: unknown) => {
      writeStderr(`ERROR fatal reason=${JSON.stringify(errorMessage(err))}\n`);
      process.exitCode = 1;
    },
  );
}
