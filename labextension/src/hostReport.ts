/**
 * The host report as the server sends it (the JSON contract of `HostReport.to_dict()`), and the few
 * lines a person wants to see first.
 *
 * Only the fields the front end reads are typed; the rest passes through untouched.
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
  reason: string | null;
  devices?: Array<{ name?: string; visible?: boolean }>;
}

export interface IHostReport {
  schema_version: string;
  scope: Scope;
  cpu: Partial<ICpu>;
  system: { os?: string; hostname?: string; libc?: { family?: string; version?: string | null } };
  capacity: { usable_cores?: number | null; memory?: { usable_bytes?: number | null } };
  accelerators: IAccelerator[];
  python: {
    version?: string;
    implementation?: string;
    isa_level?: string | null;
    free_threaded?: boolean;
    executable?: string;
  };
  recommendations: { headroom?: string; warnings?: unknown[] };
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
 * Order two ISA levels of the same family ("x86-64-v1" < "x86-64-v3", "armv8.2-a" < "armv9.0-a",
 * "power9" < "power10", "z14" < "z16"): negative, zero or positive like a sort comparator, or null
 * when they cannot be compared (different families, "unknown").
 */
export function compareLevels(a: string, b: string): number | null {
  const [familyA, numbersA] = levelParts(a);
  const [familyB, numbersB] = levelParts(b);
  if (!numbersA.length || familyA !== familyB) {
    return null;
  }
  for (let i = 0; i < Math.max(numbersA.length, numbersB.length); i++) {
    const difference = (numbersA[i] ?? 0) - (numbersB[i] ?? 0);
    if (difference) {
      return difference;
    }
  }
  return 0;
}

function levelParts(level: string): [string, number[]] {
  const numbers = (level.match(/\d+/g) ?? []).map(Number);
  return [level.replace(/\d+/g, '#'), numbers];
}

/**
 * The level the kernel's interpreter was built for, when the CPU it runs on could do better:
 * the "a faster kernel exists" hint. Null when it already fits, or when either level is unknown.
 */
export function betterLevel(report: IHostReport): string | null {
  const built = report.python.isa_level;
  const cpu = report.cpu.isa_level;
  if (!built || !cpu) {
    return null;
  }
  const order = compareLevels(built, cpu);
  return order !== null && order < 0 ? cpu : null;
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

/** Label/value rows for the summary table, in reading order. */
export function summaryRows(report: IHostReport): Array<[string, string]> {
  const cpu = report.cpu;
  const libc = report.system.libc;
  const rows: Array<[string, string]> = [
    ['Host', `${report.system.hostname ?? 'unknown'} (${scopeLabel(report.scope)})`],
    ['CPU', [cpu.vendor, cpu.model].filter(Boolean).join(' ') || 'unknown'],
    ['Architecture', cpu.arch ?? 'unknown'],
    ['ISA level', isaLevel(report)],
    ['Python', [report.python.implementation, report.python.version].filter(Boolean).join(' ') || 'unknown'],
    ['Python built for', report.python.isa_level ?? 'unknown'],
    ['OS / libc', [report.system.os, libc?.family, libc?.version].filter(Boolean).join(' ') || 'unknown'],
    ['Usable cores', formatNumber(report.capacity.usable_cores)],
    ['Usable memory', formatBytes(report.capacity.memory?.usable_bytes)]
  ];
  // No GPU, no GPU row: an absent driver is not news worth a line.
  const gpus = usableGpus(report);
  if (gpus.length) {
    rows.push(['GPUs', gpus.join(', ')]);
  }
  if (cpu.isa_next_level && cpu.isa_level_missing?.length) {
    rows.splice(4, 0, [`Missing for ${cpu.isa_next_level}`, cpu.isa_level_missing.join(' ')]);
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
  return scope === 'server-host' ? 'the Jupyter server' : 'the kernel';
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
