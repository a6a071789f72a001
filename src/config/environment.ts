// What the process was started with: the variables the nucleus sets for a component
// (developer guide, component-environment-variables), and the test hook of the benchmark and the
// end-to-end tests.

export const REQUIRED_ENV = ["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT", "SVCUID", "AWS_IOT_THING_NAME"] as const;

export function isUnderGreengrass(env: NodeJS.ProcessEnv): boolean {
  return REQUIRED_ENV.every((k) => (env[k] ?? "") !== "");
}

/** Test hook for the bench and end-to-end tests: real ms per configured second (default 1000). */
export function msPerSecondFrom(env: NodeJS.ProcessEnv): number {
  const v = Number(env.DEFENDER_TEST_MS_PER_SECOND);
  return Number.isFinite(v) && v > 0 ? v : 1000;
}
