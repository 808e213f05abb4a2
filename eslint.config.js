// ESLint flat config: typescript-eslint's recommended rules over every TypeScript source.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'proto/gen/**', 'data/**', 'web/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': 'off',
    },
  },
  {
    // actors/ sees only the port interfaces: concrete backends are wired in bin/.
    files: ['actors/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/transport/*/memory*', '**/transport/*/local*', '**/transport/*/knex*', '**/transport/*/uws*', '**/transport/*/kafka*', '**/transport/*/etcd*', '**/transport/*/redis*', 'uWebSockets.js', 'better-sqlite3', 'knex', 'kafkajs', 'etcd3', 'ioredis', 'mysql2'],
            message: 'actors/ depends only on port interfaces in transport/; wire implementations in bin/.' },
        ],
      }],
    },
  },
);
