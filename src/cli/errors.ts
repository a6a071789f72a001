// The two ways a command fails, apart from the option parser so that the entry point loads
// nothing else before it knows the command (start-up is the commands' time).

/** A mistake in how the command was called: exit 2, with the usage. */
export class UsageError extends Error {}

/** The command could not do its job (a bad file, an unreadable folder): exit 1, one line. */
export class CommandError extends Error {}
