// Type-aware lint: in a queue a floating promise is a lost ack.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const coreMayNotImport = [
  {
    group: ['**/store/memory/**', '**/store/file/**', '**/store/redis/**', '**/store/postgres/**'],
    message: 'core depends on store/contract.ts only, never on a backend',
  },
  {
    group: ['**/server/**', '**/cli/**', '**/open.ts', '**/index.ts'],
    message: 'core sits below open, server and cli',
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'dist-check/**', 'ui/build/**', 'node_modules/**', 'eslint.config.js', 'scripts/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // The folder rules of STYLE.md: dependencies point downward only.
  {
    files: ['src/errors.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['./*', '../*', '*'], message: 'errors.ts imports nothing' }] },
      ],
    },
  },
  {
    files: ['src/store/contract.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['./*', '../*', '!../errors.ts', '!./../errors.ts'],
              message: 'the contract imports errors.ts only',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [...coreMayNotImport, { regex: '^(?!node:|\\.)', message: 'core imports no npm package' }] },
      ],
    },
  },
  {
    files: ['src/store/*/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/core/**', '**/server/**', '**/cli/**', '**/open.ts', '**/index.ts'],
              message: 'a backend depends on the contract and errors only',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/store/memory/**/*.ts', 'src/store/file/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/core/**',
                '**/server/**',
                '**/cli/**',
                '**/open.ts',
                '**/index.ts',
                '**/store/redis/**',
                '**/store/postgres/**',
              ],
              message: 'the embedded stores depend on the contract, errors and node:* only',
            },
            { regex: '^(?!node:|\\.)', message: 'the embedded stores import no npm package' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/server/**/*.ts', 'src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // A store's index.ts is its public subpath entry (spool/file, spool/redis …).
              group: ['**/store/*/**', '!**/store/*/index.ts', '**/core/**'],
              message: 'server and cli use the public API (src/index.ts), never internals',
            },
          ],
        },
      ],
    },
  },
  {
    // The suite a third-party store runs: it may use only what that store's author has too.
    files: ['src/conformance/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*/**', '!../store/contract.ts', '../open.ts', '../tracing/**'],
              message: 'the conformance suite uses the public API and the contract only',
            },
            { regex: '^(?!node:|\\.)', message: 'the conformance suite imports no npm package' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/client/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // The Worker, its heartbeat and the consume loop are the pieces it shares, so remote
              // jobs behave as local ones; they run on a JobSource, a Board and a lease function,
              // and touch no store. A result is made JSON as a local ack makes it (codec.ts).
              group: [
                '**/server/**',
                '**/store/**',
                '**/core/**',
                '!**/core/worker.ts',
                '!**/core/consume.ts',
                '!**/core/clock.ts',
                '!**/core/heartbeat.ts',
                '!**/core/presence.ts',
                '!**/core/duration.ts',
                '!**/core/codec.ts',
                '!**/core/abort.ts',
                '**/cli/**',
                '**/open.ts',
              ],
              message: 'the client talks HTTP: errors.ts, the Worker and the public types only',
            },
            {
              group: ['**/index.ts', '!./*'],
              allowTypeImports: true,
              message: 'the client imports only types from the public API',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
