// Entry point of the bundle: `node defender.js <command>`.

import { REQUIRED_ENV, isUnderGreengrass } from "../config/environment.js";
import { CommandError, UsageError } from "./errors.js";
import { STDOUT_CLOSED, stdoutWasClosed } from "./stdout.js";
import { USAGE } from "./usage.js";
import { errorMessage } from "../util/log.js";

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
  help: () => {
    process.stdout.write(USAGE);
    return 0;
  },
  "--help": () => {
    process.stdout.write(USAGE);
    return 0;
  },
  "-h": () => {
    process.stdout.write(USAGE);
    return 0;
  },
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
    process.stderr.write(`not started by Greengrass (${missing} not set); to watch reports on this machine use "run"\n\n${USAGE}`);
    return 2;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  // `run` decides for itself: with a connection it writes nothing to stdout.
  if (STDOUT_COMMANDS.has(command) && stdoutWasClosed()) {
    process.stderr.write(`ERROR ${STDOUT_CLOSED}\n`);
    return 1;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof CommandError) {
      process.stderr.write(`ERROR ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`ERROR ${command}.failed reason=${JSON.stringify(errorMessage(err))}\n`);
    return 1;
  }
}

if (require.main === module) {
  // `defender.js collect | head -c 10`: the reader went away before the answer was written.
  const stdoutFailed = (err: NodeJS.ErrnoException) => {
    process.stderr.write(
      `ERROR stdout.write_failed reason=${JSON.stringify(`${err.code ?? "EIO"}: the reader of stdout went away before the answer was written`)}\n`,
    );
    process.exit(1);
  };
  process.stdout.on("error", stdoutFailed);
  main(process.argv.slice(2)).then(
    (code) => {
      // A live IPC client keeps the event loop alive: leave explicitly once done, but only once
      // stdout has taken the answer (a failed write ends in the error handler above, exit 1).
      process.stdout.write("", (err) => (err ? stdoutFailed(err) : process.exit(code)));
    },
    (err: unknown) => {
      process.stderr.write(`ERROR fatal reason=${JSON.stringify(errorMessage(err))}\n`);
      process.exitCode = 1;
    },
  );
}
