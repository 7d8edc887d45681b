/**
 * What the status item says, in words: the short text, the tooltip with the detail, and the data
 * attributes tests and styles select on. Pure, so that each wording is tested without a browser.
 */
import { betterLevel, IHostReport, isaLevel, isUnknown, KernelHostAnswer, usableGpus } from './hostReport';

export interface IStatusView {
  text: string;
  title: string;
  data: Readonly<Record<string, string>>;
}

/** No kernel in front: the level the Jupyter server's CPU runs. */
export function serverStatus(report: IHostReport): IStatusView {
  const level = isaLevel(report);
  const missing = report.cpu.isa_level_missing ?? [];
  const next = report.cpu.isa_next_level;
  return {
    text: `CPU ${level}`,
    title:
      `This Jupyter server's CPU runs Python built for ${level}` +
      (next && missing.length ? ` (${next} would also need ${missing.join(', ')})` : '') +
      '. Click for the full report.',
    data: { isaLevel: level, scope: 'server-host' }
  };
}

/** The kernel in front, as it reported its own machine (or why it could not). */
export function kernelStatus(answer: KernelHostAnswer, kernelName: string): IStatusView {
  if (isUnknown(answer)) {
    return {
      text: 'Kernel level unknown',
      title: `Kernel "${kernelName}" could not say which CPU it runs on: ${answer.reason}`,
      data: { isaLevel: 'unknown', scope: 'kernel-host' }
    };
  }
  const cpu = isaLevel(answer);
  const built = answer.python.isa_level ?? 'unknown';
  const better = betterLevel(answer);
  const gpus = usableGpus(answer);
  const parts = [`Kernel ${built}`, `CPU ${cpu}`];
  if (better) {
    parts.push('faster kernel available');
  }
  if (gpus.length) {
    parts.push(gpus.length === 1 ? '1 GPU' : `${gpus.length} GPUs`);
  }
  const title = [
    `Kernel "${kernelName}": its Python is built for ${built} and runs on a ${cpu} CPU.`,
    gpus.length ? `GPUs: ${gpus.join(', ')}.` : '',
    better
      ? `A kernel built for ${better} would run faster on this CPU: Kernel menu → Optimized Python for this machine…`
      : '',
    'Click for the full report.'
  ];
  const data: Record<string, string> = {
    isaLevel: cpu,
    kernelIsaLevel: built,
    gpus: String(gpus.length),
    scope: 'kernel-host'
  };
  if (better) {
    data.betterLevel = better;
  }
  return { text: parts.join(' · '), title: title.filter(Boolean).join('\n'), data };
}

/** The server's report could not be fetched. */
export function errorStatus(reason: string): IStatusView {
  return {
    text: 'CPU level unavailable',
    title: `The machine report is unavailable: ${reason}`,
    data: { isaLevel: 'error' }
  };
}
