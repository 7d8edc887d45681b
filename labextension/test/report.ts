/** A host report as the server sends it, for the tests to vary. */
import { IHostReport } from '../src/hostReport';

export function report(changes: Partial<IHostReport> = {}): IHostReport {
  return {
    schema_version: '1.1',
    scope: 'kernel-host',
    cpu: {
      arch: 'x86_64',
      vendor: 'AuthenticAMD',
      model: 'AMD EPYC',
      isa_level: 'x86-64-v4',
      isa_level_missing: [],
      isa_next_level: null,
      features: ['avx2']
    },
    system: { os: 'Linux', hostname: 'node-1', libc: { family: 'glibc', version: '2.36' } },
    capacity: { usable_cores: 2, memory: { usable_bytes: 8 * 2 ** 30 } },
    accelerators: [],
    python: { version: '3.11.7', implementation: 'cpython', isa_level: 'x86-64-v1' },
    recommendations: {
      headroom: 'This interpreter targets x86-64-v1; this CPU runs x86-64-v4.',
      better_kernel: 'x86-64-v4',
      warnings: []
    },
    diagnostics: [],
    ...changes
  };
}
