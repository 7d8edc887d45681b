import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  adviceLines,
  betterLevel,
  CPU_LEVEL_LABEL,
  isUnknown,
  summaryRows,
  usableGpus
} from '../src/hostReport';
import { report } from './report';

test('summary rows read in order, labels in words, with the level of the CPU and of Python', () => {
  const rows = summaryRows(report());
  assert.deepEqual(
    rows.map(([label]) => label),
    [
      'Machine',
      'CPU',
      'Architecture',
      CPU_LEVEL_LABEL,
      'Python',
      'Python built for',
      'Operating system',
      'Usable cores',
      'Usable memory'
    ]
  );
  const values = Object.fromEntries(rows);
  assert.equal(values.Machine, 'node-1 (runs the kernel)');
  assert.equal(values[CPU_LEVEL_LABEL], 'x86-64-v4');
  assert.equal(values['Python built for'], 'x86-64-v1');
  assert.equal(values['Usable memory'], '8.0 GiB');
});

test('what the CPU lacks for the next level follows its level; unknowns say so', () => {
  const rows = summaryRows(
    report({
      cpu: {
        isa_level: 'x86-64-v3',
        isa_next_level: 'x86-64-v4',
        isa_level_missing: ['avx512f', 'avx512bw']
      },
      system: { hostname: null },
      capacity: {}
    })
  );
  const labels = rows.map(([label]) => label);
  assert.equal(labels[labels.indexOf(CPU_LEVEL_LABEL) + 1], 'Lacks for x86-64-v4');
  const values = Object.fromEntries(rows);
  assert.equal(values['Lacks for x86-64-v4'], 'avx512f, avx512bw');
  assert.equal(values.Machine, 'unknown (runs the kernel)');
  assert.equal(values.CPU, 'unknown');
  assert.equal(values['Usable cores'], 'unknown');
  assert.equal(values['Usable memory'], 'unknown');
});

test('a GPU row only when a GPU is usable, one name per visible device', () => {
  assert.ok(!summaryRows(report()).some(([label]) => label === 'GPUs'));
  const withGpus = report({
    accelerators: [
      {
        vendor: 'nvidia',
        status: 'ok',
        devices: [{ name: 'H200' }, { name: 'A100', visible: false }, { name: 'L4' }]
      },
      { vendor: 'amd', status: 'hardware-no-driver', reason: 'no amdgpu' },
      { vendor: 'apple', status: 'ok' }
    ]
  });
  assert.deepEqual(usableGpus(withGpus), ['nvidia H200', 'nvidia L4', 'apple']);
  assert.equal(Object.fromEntries(summaryRows(withGpus)).GPUs, 'nvidia H200, nvidia L4, apple');
});

test('the better-kernel hint is the report’s own decision', () => {
  assert.equal(betterLevel(report()), 'x86-64-v4');
  assert.equal(betterLevel(report({ recommendations: { better_kernel: null } })), null);
  assert.equal(betterLevel(report({ recommendations: {} })), null);
});

test('advice: the headroom sentence, then the warnings, as text', () => {
  const advice = adviceLines(
    report({ recommendations: { headroom: 'Fits.', warnings: ['Memory is limited.', { code: 7 }] } })
  );
  assert.deepEqual(advice, ['Fits.', 'Memory is limited.', '{"code":7}']);
  assert.deepEqual(adviceLines(report({ recommendations: {} })), []);
});

test('a kernel that could not answer is told apart from a report', () => {
  assert.ok(isUnknown({ scope: 'kernel-host', status: 'unknown', reason: 'no answer in 10 s' }));
  assert.ok(!isUnknown(report()));
});
