/**
 * "Optimized Python for this machine": a dialog that asks for a Python version, level, flavour,
 * packages and name, provisions the kernel as a server job with a live progress bar, and closes once
 * the new kernel is in the kernel list. A kernel of the same build is offered first (open it, switch
 * to it, or name the new one otherwise).
 *
 * The dialog stays open while the job runs ("Create kernel" starts it instead of closing), so a
 * failure is shown where the request was made, next to the fields to correct. Closing the dialog
 * does not stop the job (see background.ts): reopening it shows the job again.
 */
import { Dialog, ISessionContext, Notification } from '@jupyterlab/apputils';

import { errorText } from './api';
import { ProvisioningJobs } from './background';
import { IHostReport } from './hostReport';
import { fetchKernels, IJob, IKernelEntry, IProvisionRequest, IPythons } from './jobs';
import { manageKernels } from './kernelManager';
import { ProvisionForm, ReadyAction } from './provisionForm';
import { ISettingsValues, requestExtras } from './settings';

export type { ReadyAction } from './provisionForm';

export interface IProvisioned {
  kernelName: string;
  displayName: string;
  action: ReadyAction;
}

export interface IProvisionDialogOptions {
  /** The Jupyter server host's report: provisioning runs there, so its level is preselected. */
  host: Promise<IHostReport>;
  /** The builds that fit this host, best first (for the version suggestions). */
  pythons: Promise<IPythons>;
  settings: ISettingsValues;
  /** The notebook (or console) that may be switched to the new kernel, if any. */
  target: ISessionContext | null;
  /** Preselect switching the target (the dialog was opened from its kernel picker or menu). */
  preferSwitch: boolean;
  /** Make the new kernel visible to the application (refresh the kernel list); may throw. */
  publish: (kernelName: string) => Promise<void>;
  /** Act on a kernel provisioned after the dialog was closed (offered in a notification). */
  actLater: (ready: IProvisioned) => Promise<void>;
}

const CREATE = 1;

/** One follower of the server's jobs for the whole page, made with the first dialog's hooks. */
let background: ProvisioningJobs | null = null;

function jobsOf(options: IProvisionDialogOptions): ProvisioningJobs {
  return (background ??= new ProvisioningJobs({
    publish: options.publish,
    open: kernelName => options.actLater({ kernelName, displayName: kernelName, action: 'open' })
  }));
}

/**
 * Show the dialog; resolves with the kernel to use (made now, or one that existed), or null if it
 * was closed before. "Kernels set up here…" swaps it for the list of kernels, and back.
 */
export async function provisionKernel(options: IProvisionDialogOptions): Promise<IProvisioned | null> {
  const jobs = jobsOf(options);
  for (;;) {
    const dialog = new ProvisionDialog(options, jobs);
    await dialog.launch();
    if (!dialog.wantsManager) {
      return dialog.provisioned;
    }
    // Removing a kernel: the refresh makes the application forget it (publish then finds it gone).
    if (!(await manageKernels(() => options.publish('').catch(() => undefined)))) {
      return null;
    }
  }
}

/** The body has no `getValue`: the outcome is `provisioned`, set before the dialog closes itself. */
class ProvisionDialog extends Dialog<unknown> {
  private readonly _form: ProvisionForm;
  private _job: IJob | null = null;
  private _stopWatching: (() => void) | null = null;
  private _provisioned: IProvisioned | null = null;
  private _closed = false;
  private _manage = false;

  /** The kernel to use (null if the dialog was closed before there was one). */
  get provisioned(): IProvisioned | null {
    return this._provisioned;
  }

  /** "Kernels set up here…" was pressed. */
  get wantsManager(): boolean {
    return this._manage;
  }

  constructor(
    private readonly _options: IProvisionDialogOptions,
    private readonly _jobs: ProvisioningJobs
  ) {
    const form = new ProvisionForm(
      {
        host: _options.host,
        pythons: _options.pythons,
        kernels: fetchKernels(),
        defaultLevel: _options.settings.defaultLevel,
        target: _options.target,
        preferSwitch: _options.preferSwitch,
        useExisting: (kernel, action) => this._useExisting(kernel, action),
        changed: () => this._setCreateEnabled()
      },
      () => void this._cancel(),
      () => {
        this._manage = true;
        this._close();
      }
    );
    super({
      title: 'Optimized Python for this machine',
      body: form,
      buttons: [Dialog.cancelButton({ label: 'Close' }), Dialog.okButton({ label: 'Create kernel' })],
      defaultButton: CREATE,
      hasClose: true
    });
    this.addClass('jp-pyvariant-provision-dialog');
    this._form = form;
    void this._resume();
  }

  /** "Create kernel" (or Enter) starts provisioning; the dialog closes itself when it is done. */
  resolve(index?: number): void {
    if ((index ?? CREATE) === CREATE && !this._provisioned) {
      if (!this._job && this._form.ready) {
        void this._provision();
      }
      return;
    }
    this._close(index);
  }

  reject(): void {
    this._closed = true;
    this._stopWatching?.();
    super.reject();
  }

  private _close(index?: number): void {
    this._closed = true;
    this._stopWatching?.();
    super.resolve(index);
  }

  /** A job already running (closed dialog, another tab): show it instead of an empty form. */
  private async _resume(): Promise<void> {
    const running = await this._jobs.running();
    if (running && !this._job && !this._closed) {
      await this._follow(running);
    }
  }

  private async _provision(): Promise<void> {
    const form = this._form;
    const request: IProvisionRequest = { ...form.request(), ...requestExtras(this._options.settings) };
    form.start();
    let job: IJob;
    try {
      job = await this._jobs.start(request);
    } catch (error) {
      form.refused(errorText(error));
      return;
    }
    await this._follow(job);
  }

  private async _follow(job: IJob): Promise<void> {
    this._job = job;
    const watch = this._jobs.watch(job, snapshot => this._form.showJob(snapshot));
    this._stopWatching = watch.stop;
    const final = await watch.ended;
    this._job = null;
    this._stopWatching = null;
    this._setCreateEnabled();
    if (this._closed) {
      return; // the background follower announced its end
    }
    watch.stop();
    if (final.state === 'succeeded' && final.result) {
      const { kernel_name, display_name, warnings } = final.result;
      warnAboutBuild(display_name ?? kernel_name, warnings);
      this._provisioned = {
        kernelName: kernel_name,
        displayName: display_name ?? kernel_name,
        action: this._form.action()
      };
      this._close(CREATE);
    }
  }

  private _useExisting(kernel: IKernelEntry, action: ReadyAction): void {
    this._provisioned = { kernelName: kernel.name, displayName: kernel.display_name, action };
    this._close(CREATE);
  }

  private async _cancel(): Promise<void> {
    if (this._job) {
      try {
        await this._jobs.cancel(this._job.id);
      } catch (error) {
        this._form.refused(`Could not cancel: ${errorText(error)}`);
      }
    }
  }

  private _setCreateEnabled(): void {
    const button = this.node.querySelector<HTMLButtonElement>('.jp-Dialog-footer .jp-mod-accept');
    if (button) {
      button.disabled = !this._form?.ready || !!this._job;
    }
  }
}

/** The new kernel's interpreter contradicted its archive's name: it is named for the interpreter. */
function warnAboutBuild(displayName: string, warnings: unknown): void {
  for (const warning of Array.isArray(warnings) ? warnings : []) {
    Notification.warning(`Kernel "${displayName}": ${String(warning)}`, { autoClose: false });
  }
}
