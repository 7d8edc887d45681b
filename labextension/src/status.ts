/**
 * The kernel's machine at a glance: what the current kernel's Python was built for, what its CPU
 * runs, its GPUs, and a hint when a kernel built for a higher level would run there. With no kernel
 * in front, the Jupyter server's CPU. JupyterLab shows it in the status bar; Notebook 7, which has
 * none, in each notebook's toolbar.
 *
 * The kernel is asked for its own report (it may run on another machine than the server). Until
 * it answers the item shows nothing rather than a stale or placeholder value; an answer that does
 * not come in time shows "unknown" with the reason.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { errorText } from './api';
import { IHostReport, isUnknown, KernelHostAnswer } from './hostReport';
import { sessionContextOf } from './session';
import { errorStatus, IStatusView, kernelStatus, serverStatus } from './statusText';
import { IHostReportClient } from './tokens';

/** How long a starting kernel may take to come up before its level is given up as unknown. */
const KERNEL_START_SECONDS = 60;

export class IsaLevelStatus extends Widget {
  /** The report on show: the kernel's when it answered, else the server host's. */
  report: IHostReport | null = null;
  private readonly _knownChanged = new Signal<this, void>(this);
  private _known = false;

  constructor(onClick: (report: IHostReport | null) => void) {
    super();
    this.addClass('jp-pyvariant-status');
    this.node.addEventListener('click', () => onClick(this.report));
    this._view(null, null);
  }

  /** Whether the item has something to say (the status bar hides it otherwise). */
  get known(): boolean {
    return this._known;
  }

  get knownChanged(): ISignal<this, void> {
    return this._knownChanged;
  }

  /** No kernel in front: the server host's level. */
  showServer(report: IHostReport): void {
    this._view(report, serverStatus(report));
  }

  /** The kernel in front is starting or being asked: nothing, until it answers. */
  showPending(): void {
    this._view(null, null);
  }

  showKernel(answer: KernelHostAnswer, kernelName: string): void {
    this._view(isUnknown(answer) ? null : answer, kernelStatus(answer, kernelName));
  }

  showError(error: unknown): void {
    this._view(null, errorStatus(errorText(error)));
  }

  private _view(report: IHostReport | null, view: IStatusView | null): void {
    const wasKnown = this._known;
    this._known = !!view;
    this.report = report;
    this.node.textContent = view?.text ?? '';
    this.node.title = view?.title ?? '';
    for (const key of Object.keys(this.node.dataset)) {
      delete this.node.dataset[key];
    }
    Object.assign(this.node.dataset, view?.data ?? {});
    this.setHidden(!view);
    if (this._known !== wasKnown) {
      this._knownChanged.emit();
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
    const context = this._context;
    if (context && !context.isReady) {
      // A notebook still starting its kernel: say nothing until the kernel can answer.
      this._item.showPending();
      await context.ready.catch(() => undefined);
      if (asked === this._asked && !context.isDisposed) {
        void this._update();
      }
      return;
    }
    const kernel = context?.session?.kernel;
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
    const name = context?.kernelDisplayName ?? kernel.name;
    this._item.showPending();
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
