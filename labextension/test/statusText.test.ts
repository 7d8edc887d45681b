import assert from 'node:assert/strict';
import { test } from 'node:test';

import { errorStatus, kernelStatus, serverStatus } from '../src/statusText';
import { report } from './report';

test('the server’s CPU level, with what the next level needs in the tooltip', () => {
  const view = serverStatus(
    report({
      scope: 'server-host',
      cpu: { isa_level: 'x86-64-v3', isa_next_level: 'x86-64-v4', isa_level_missing: ['avx512f'] }
    })
  );
  assert.equal(view.text, 'CPU x86-64-v3');
  assert.match(view.title, /x86-64-v4 would also need avx512f/);
  assert.deepEqual(view.data, { isaLevel: 'x86-64-v3', scope: 'server-host' });
});

test('a kernel below its CPU says a faster kernel exists, in words, and how to get it', () => {
  const view = kernelStatus(report(), 'Python 3 (ipykernel)');
  assert.equal(view.text, 'Kernel x86-64-v1 · CPU x86-64-v4 · faster kernel available');
  assert.ok(!view.text.includes('↑') && !/ISA/.test(view.text));
  assert.match(view.title, /would run faster on this CPU: Kernel menu → Optimized Python for this machine…/);
  assert.equal(view.data.betterLevel, 'x86-64-v4');
  assert.equal(view.data.kernelIsaLevel, 'x86-64-v1');
});

test('a kernel that fits its CPU gets no hint; its GPUs are counted', () => {
  const view = kernelStatus(
    report({
      python: { isa_level: 'x86-64-v4' },
      recommendations: { better_kernel: null },
      accelerators: [{ vendor: 'nvidia', status: 'ok', devices: [{ name: 'H200' }, { name: 'H200' }] }]
    }),
    'fast'
  );
  assert.equal(view.text, 'Kernel x86-64-v4 · CPU x86-64-v4 · 2 GPUs');
  assert.equal(view.data.betterLevel, undefined);
  assert.match(view.title, /GPUs: nvidia H200, nvidia H200\./);
});

test('a kernel that could not answer, and a server report that failed, say so plainly', () => {
  const unknown = kernelStatus({ scope: 'kernel-host', status: 'unknown', reason: 'no answer in 10 s' }, 'k');
  assert.equal(unknown.text, 'Kernel level unknown');
  assert.match(unknown.title, /no answer in 10 s/);
  const failed = errorStatus('Network error');
  assert.equal(failed.text, 'CPU level unavailable');
  assert.equal(failed.data.isaLevel, 'error');
});
