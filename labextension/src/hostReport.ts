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
  devices?: Array<{ name?: string }>;
}

export interface IHostReport {
  schema_version: string;
  scope: Scope;
  cpu: Partial<ICpu>;
  system: { os?: string; hostname?: string; libc?: { family?: string; version?: string | null } };
  capacity: { usable_cores?: number | null; memory?: { usable_bytes?: number | null } };
  accelerators: IAccelerator[];
  python: { version?: string; implementation?: string; isa_level?: string | null };
  recommendations: { headroom?: string; warnings?: unknown[] };
  diagnostics: Array<{ probe: string; source: string; error: string | null }>;
}

/** The CPU's ISA level, or "unknown" when the probe could not tell. */
export function isaLevel(report: IHostReport): string {
  return report.cpu.isa_level || 'unknown';
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
    ['Usable memory', formatBytes(report.capacity.memory?.usable_bytes)],
    ['Accelerators', accelerators(report.accelerators)]
  ];
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

function accelerators(found: IAccelerator[]): string {
  const usable = found.filter(a => a.status === 'ok');
  if (!usable.length) {
    return 'none';
  }
  return usable
    .map(a => `${a.vendor}: ${(a.devices ?? []).map(d => d.name ?? '?').join(', ') || 'ok'}`)
    .join('; ');
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
