// ESLint flat config. The block for src/core/** enforces DESIGN.md's purity rule:
// the core is a deterministic state machine, so it may not reach for I/O, time,
// randomness or the process. test/unit/lint-core-rule.test.ts proves the rule still fires.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export const corePurityRules = {
  'no-restricted-imports': [
    'error',
    {
      paths: [
        ...nodeBuiltins.map((name) => ({ name, message: 'src/core is pure: no Node built-ins (pass effects out instead).' })),
        { name: '@grpc/grpc-js', message: 'src/core is pure: networking belongs in src/adapters.' },
        { name: 'dbus-next', message: 'src/core is pure: D-Bus belongs in src/adapters.' },
        { name: 'pino', message: 'src/core is pure: log from the runtime, driven by effects.' },
      ],
      patterns: [
        { group: ['node:*'], message: 'src/core is pure: no Node built-ins.' },
        { group: ['@grpc/*'], message: 'src/core is pure: networking belongs in src/adapters.' },
        { group: ['**/adapters/**', '**/runtime/**', '**/observability/**', '**/cli/**'], message: 'src/core may not depend on the shell.' },
      ],
    },
  ],
  'no-restricted-globals': [
    'error',
    { name: 'Date', message: 'src/core is pure: time is passed in with each input.' },
    { name: 'setTimeout', message: 'src/core is pure: timers live in the runtime; the core gets ticks.' },
    { name: 'setInterval', message: 'src/core is pure: timers live in the runtime; the core gets ticks.' },
    { name: 'setImmediate', message: 'src/core is pure: timers live in the runtime.' },
    { name: 'queueMicrotask', message: 'src/core is pure: no scheduling.' },
    { name: 'process', message: 'src/core is pure: no process access.' },
    { name: 'require', message: 'src/core is pure: no dynamic loading.' },
    { name: 'fetch', message: 'src/core is pure: no I/O.' },
    { name: 'performance', message: 'src/core is pure: time is passed in.' },
  ],
  'no-restricted-properties': [
    'error',
    { object: 'Math', property: 'random', message: 'src/core is pure: randomness is a seeded generator passed in.' },
    { object: 'globalThis', property: 'process', message: 'src/core is pure: no process access.' },
    { object: 'globalThis', property: 'Date', message: 'src/core is pure: time is passed in.' },
    { object: 'globalThis', property: 'setTimeout', message: 'src/core is pure: timers live in the runtime.' },
  ],
  'no-restricted-syntax': [
    'error',
    { selector: "ImportExpression", message: 'src/core is pure: no dynamic import.' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**', '.pcmk-baseline/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly', process: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly',
        setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', Buffer: 'readonly',
        URL: 'readonly', performance: 'readonly', queueMicrotask: 'readonly', AbortController: 'readonly',
        AbortSignal: 'readonly', structuredClone: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  { files: ['src/core/**/*.ts'], rules: corePurityRules },
);
