/**
 * The host report as the server sends it (the JSON contract of `HostReport.to_dict()`), and the few
 * lines a person wants to see first.
 *
 * Only the fields the front end reads are typed; the rest passes through untouched. The unit tests
 * hold these types against the report's JSON Schema (see reportWire.ts).
 */

export type Scope = 'kernel-host' | 'server-host';

export interface ICpu {
  arch: string;
  vendor: string;
  model: string;
  isa_level: string;
  isa_level_missing: string[];
  isa_next_level: string | null;
  features: string[];
}

export interface IAccelerator {
  vendor: string;
  status: string;
  reason?: string | null;
  devices?: Array<{ name?: string; visible?: boolean }>;
}

/** One level a kernel's interpreter can be built for: its name, its `--level` spelling, and
 * whether this CPU runs it. */
export interface IKernelLevel {
  level: string;
  flag: string;
  runs: boolean;
}

export interface IHostReport {
  schema_version: string;
  scope: Scope;
  cpu: Partial<ICpu>;
  system: { os?: string; hostname?: string | null; libc?: { family?: string; version?: string | null } };
  capacity: { usable_cores?: number | null; memory?: { usable_bytes?: number | null } };
  accelerators: IAccelerator[];
  python: {
    version?: string;
    implementation?: string;
    isa_level?: string | null;
    free_threaded?: boolean;
  };
  recommendations: {
    headroom?: string;
    warnings?: unknown[];
    /** The CPU's level when the interpreter's is below it on the same ladder (schema 1.1). */
    better_kernel?: string | null;
    /** The levels interpreters are published at for this platform, lowest first (schema 1.1). */
    kernel_levels?: IKernelLevel[];
  };
  diagnostics: Array<{ probe: string; source: string; error: string | null }>;
}

/**
 * What `GET host/kernel/{id}` answers when the kernel could not say (no answer in time, no
 * jupyter_pyvariant inside it): the reason is shown to the user instead of a report.
 */
export interface IUnknownKernelHost {
  scope: 'kernel-host';
  status: 'unknown';
  reason: string;
}

export type KernelHostAnswer = IHostReport | IUnknownKernelHost;

export function isUnknown(answer: KernelHostAnswer): answer is IUnknownKernelHost {
  return (answer as IUnknownKernelHost).status === 'unknown' || !(answer as IHostReport).cpu;
}

/** The CPU's ISA level, or "unknown" when the probe could not tell. */
export function isaLevel(report: IHostReport): string {
  return report.cpu.isa_level || 'unknown';
}

/**
 * The level a kernel could be built for to use its CPU fully (the "a faster kernel exists" hint),
 * as the report decides it; null when the interpreter already fits or either level is unknown.
 */
export function betterLevel(report: IHostReport): string | null {
  return report.recommendations.better_kernel ?? null;
}

/** Names of the usable GPUs (accelerators whose probe said "ok"), one per visible device. */
export function usableGpus(report: IHostReport): string[] {
  return report.accelerators
    .filter(a => a.status === 'ok')
    .flatMap(a => {
      // Apple reports the GPU as a capability (MPS), without a device list.
      const devices = a.devices?.length ? a.devices.filter(d => d.visible !== false) : [{}];
      return devices.map(d => [a.vendor, d.name].filter(Boolean).join(' '));
    });
}

/** The summary row of the level of instructions the CPU runs (x86-64-v3, ...). */
export const CPU_LEVEL_LABEL = 'CPU level';

/** Label/value rows for the summary table, in reading order. */
export function summaryRows(report: IHostReport): Array<[string, string]> {
  const cpu = report.cpu;
  const libc = report.system.libc;
  const rows: Array<[string, string]> = [
    ['Machine', `${report.system.hostname ?? 'unknown'} (${scopeLabel(report.scope)})`],
    ['CPU', [cpu.vendor, cpu.model].filter(Boolean).join(' ') || 'unknown'],
    ['Architecture', cpu.arch ?? 'unknown'],
    [CPU_LEVEL_LABEL, isaLevel(report)],
    ['Python', [report.python.implementation, report.python.version].filter(Boolean).join(' ') || 'unknown'],
    ['Python built for', report.python.isa_level ?? 'unknown'],
    [
      'Operating system',
      [report.system.os, libc?.family, libc?.version].filter(Boolean).join(' ') || 'unknown'
    ],
    ['Usable cores', formatNumber(report.capacity.usable_cores)],
    ['Usable memory', formatBytes(report.capacity.memory?.usable_bytes)]
  ];
  // No GPU, no GPU row: an absent driver is not news worth a line.
  const gpus = usableGpus(report);
  if (gpus.length) {
    rows.push(['GPUs', gpus.join(', ')]);
  }
  if (cpu.isa_next_level && cpu.isa_level_missing?.length) {
    rows.splice(4, 0, [`Lacks for ${cpu.isa_next_level}`, cpu.isa_level_missing.join(', ')]);
  }
  return rows;
}

/** Advice lines worth showing under the table: the headroom sentence, then any warnings. */
export function adviceLines(report: IHostReport): string[] {
  const advice = report.recommendations;
  const warnings = (advice.warnings ?? []).map(w => (typeof w === 'string' ? w : JSON.stringify(w)));
  return [advice.headroom, ...warnings].filter((line): line is string => !!line);
}

function scopeLabel(scope: Scope): string {
  return scope === 'server-host' ? 'runs the Jupyter server' : 'runs the kernel';
}

function formatNumber(value: number | null | undefined): string {
  return value === null || value === undefined ? 'unknown' : String(value);
}

function formatBytes(value: number | null | undefined): string {
  if (value === null || value === undefined) {
    return 'unknown';
  }
  return `${(value / 2 ** 30).toFixed(1)} GiB`;
}
