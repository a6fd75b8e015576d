// `node:assert/strict` (under `nodejs_compat`): `node:assert`, whose comparisons are strict
// already, as in workerd.
export * from 'node:assert';
export { default } from 'node:assert';
