/**
 * Status-bar item: what the current kernel's interpreter was built for, what its CPU can run, its
 * GPUs, and a hint when a kernel built for a higher level would run there. With no kernel in
 * front, it shows the Jupyter server host's level.
 *
 * The kernel is asked for its own report (it may run on another machine than the server); an
 * answer that does not come in time shows "unknown" with the reason, never a waiting UI.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { errorText } from './api';
import { betterLevel, IHostReport, isaLevel, isUnknown, KernelHostAnswer, usableGpus } from './hostReport';
import { sessionContextOf } from './session';
import { IHostReportClient } from './tokens';

/** How long a starting kernel may take to come up before its level is given up as unknown. */
const KERNEL_START_SECONDS = 60;

export class IsaLevelStatus extends Widget {
  /** The report on show: the kernel's when it answered, else the server host's. */
  report: IHostReport | null = null;

  constructor(onClick: (report: IHostReport | null) => void) {
    super();
    this.addClass('jp-pyvariant-status');
    this.node.textContent = 'ISA: …';
    this.node.title = 'Fetching the server host report…';
    this.node.addEventListener('click', () => onClick(this.report));
  }

  /** No kernel in front: the server host's level. */
  showServer(report: IHostReport): void {
    const level = isaLevel(report);
    this._show(report, `ISA: ${level}`, { isaLevel: level, scope: 'server-host' });
    const missing = report.cpu.isa_level_missing ?? [];
    const next = report.cpu.isa_next_level;
    this.node.title =
      `The Jupyter server's CPU runs ${level}` +
      (next && missing.length ? `; ${next} would need ${missing.join(', ')}` : '') +
      '. Click for the host report.';
  }

  showPending(kernelName: string): void {
    this._show(null, 'Kernel ISA: …', {});
    this.node.title = `Asking kernel "${kernelName}" about its host…`;
  }

  showKernel(answer: KernelHostAnswer, kernelName: string): void {
    if (isUnknown(answer)) {
      this._show(null, 'Kernel ISA: unknown', { isaLevel: 'unknown', scope: 'kernel-host' });
      this.node.title = `The level of kernel "${kernelName}" is unknown: ${answer.reason}`;
      return;
    }
    const cpu = isaLevel(answer);
    const built = answer.python.isa_level ?? 'unknown';
    const better = betterLevel(answer);
    const gpus = usableGpus(answer);
    const parts = [`Kernel ${built}${better ? ' ↑' : ''}`, `CPU ${cpu}`];
    if (gpus.length) {
      parts.push(gpus.length === 1 ? '1 GPU' : `${gpus.length} GPUs`);
    }
    this._show(answer, parts.join(' · '), {
      isaLevel: cpu,
      kernelIsaLevel: built,
      betterLevel: better ?? undefined,
      gpus: String(gpus.length),
      scope: 'kernel-host'
    });
    this.node.title = [
      `Kernel "${kernelName}": Python built for ${built}, running on a ${cpu} CPU.`,
      gpus.length ? `GPUs: ${gpus.join(', ')}.` : '',
      better
        ? `A kernel built for ${better} would use this CPU fully: Kernel menu → Optimized Python for this machine…`
        : '',
      'Click for the kernel host report.'
    ]
      .filter(Boolean)
      .join('\n');
  }

  showError(error: unknown): void {
    this._show(null, 'ISA: ?', { isaLevel: 'error' });
    this.node.title = `Host report unavailable: ${errorText(error)}`;
  }

  private _show(report: IHostReport | null, text: string, data: Record<string, string | undefined>): void {
    this.report = report;
    this.node.textContent = text;
    for (const key of Object.keys(this.node.dataset)) {
      delete this.node.dataset[key];
    }
    for (const [key, value] of Object.entries(data)) {
      if (value !== undefined) {
        this.node.dataset[key] = value;
      }
    }
  }
}

/**
 * Keep `item` on the kernel of the current widget: asked again when the widget in front or its
 * kernel changes; a late answer for a kernel no longer in front is dropped.
 */
export class CurrentKernelTracker {
  // undefined until the first `follow`, so that "no kernel" is shown too.
  private _context: ISessionContext | null | undefined = undefined;
  private _asked = 0;

  constructor(
    private readonly _item: IsaLevelStatus,
    private readonly _client: IHostReportClient
  ) {}

  /** The widget in front changed (null: nothing that runs a kernel). */
  follow(widget: Widget | null): void {
    const context = sessionContextOf(widget);
    if (context === this._context) {
      return;
    }
    this._context?.kernelChanged.disconnect(this._onKernelChanged, this);
    this._context = context;
    context?.kernelChanged.connect(this._onKernelChanged, this);
    void this._update();
  }

  private _onKernelChanged(): void {
    void this._update();
  }

  private async _update(): Promise<void> {
    const asked = ++this._asked;
    const kernel = this._context?.session?.kernel;
    if (!kernel) {
      try {
        const report = await this._client.serverHost();
        if (asked === this._asked) {
          this._item.showServer(report);
        }
      } catch (error) {
        if (asked === this._asked) {
          this._item.showError(error);
        }
      }
      return;
    }
    const name = this._context?.kernelDisplayName ?? kernel.name;
    this._item.showPending(name);
    const answer = await kernelAnswer(kernel, this._client);
    if (asked === this._asked) {
      this._item.showKernel(answer, name);
    }
  }
}

/** The kernel's report once it is up; "unknown" with the reason if it does not come up in time. */
async function kernelAnswer(
  kernel: Kernel.IKernelConnection,
  client: IHostReportClient
): Promise<KernelHostAnswer> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<string>(resolve => {
    timer = setTimeout(
      () => resolve(`the kernel did not start within ${KERNEL_START_SECONDS} s`),
      KERNEL_START_SECONDS * 1000
    );
  });
  const notStarted = await Promise.race([
    kernel.info.then(
      () => null,
      error => `the kernel did not start: ${errorText(error)}`
    ),
    gaveUp
  ]);
  clearTimeout(timer);
  if (notStarted) {
    return { scope: 'kernel-host', status: 'unknown', reason: notStarted };
  }
  return client.kernelHost(kernel.id);
}
