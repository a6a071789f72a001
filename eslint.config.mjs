// Lint: typescript-eslint's strict, type-aware rules over everything tsc checks, with four
// settings chosen for this code base (each says why).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["artifacts/", "node_modules/", ".cache/", "greengrass-build/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // tsconfig has noUncheckedIndexedAccess: an index inside its own bounds check (`rows[i]!` in
      // a parser's loop) is the idiom that keeps hot loops free of dead branches.
      "@typescript-eslint/no-non-null-assertion": "off",
      // Numbers and booleans print as themselves in log lines and messages.
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true, allowBoolean: true }],
      // `() => log.info(...)` as a callback is not a value anybody reads.
      "@typescript-eslint/no-confusing-void-expression": ["error", { ignoreArrowShorthand: true }],
      // node:test's describe/it/before/after return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["describe", "it", "test", "before", "after", "beforeEach", "afterEach", "suite"] },
          ],
        },
      ],
    },
  },
  // Plain JavaScript (this file, and the two CommonJS stand-ins scripts/build.ts wires into the
  // bundle) is outside the TypeScript project: linted without type information.
  { files: ["**/*.{js,cjs,mjs}"], ...tseslint.configs.disableTypeChecked },
  {
    files: ["**/*.{js,cjs}"],
    languageOptions: {
      sourceType: "commonjs",
      globals: { require: "readonly", module: "writable", exports: "writable", __dirname: "readonly", __filename: "readonly", process: "readonly" },
    },
    // CommonJS has no other way to load a module.
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
);
