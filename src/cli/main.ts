// Entry point of the bundle: `node defender.js <command>`.

import { collectCommand } from "./collect.js";
import { USAGE, UsageError } from "./usage.js";
import { errorMessage } from "../util/log.js";

const COMMANDS: Record<string, (argv: string[]) => number | Promise<number>> = {
  collect: collectCommand,
  help: () => {
    process.stdout.write(USAGE);
    return 0;
  },
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const run = command === undefined ? undefined : COMMANDS[command];
  if (run === undefined) {
    process.stderr.write(`${command === undefined ? "no command given" : `unknown command "${command}"`}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`ERROR ${command}.failed reason=${JSON.stringify(errorMessage(err))}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`ERROR fatal reason=${JSON.stringify(errorMessage(err))}\n`);
      process.exitCode = 1;
    },
  );
}
