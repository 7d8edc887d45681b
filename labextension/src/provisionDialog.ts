/**
 * "Optimized Python for this machine": a dialog that asks for a Python version, level, flavour and
 * packages, provisions the kernel as a server job with a live progress bar, and closes once the new
 * kernel is in the kernel list.
 *
 * The dialog stays open while the job runs ("Create kernel" starts it instead of closing), so a
 * failure is shown where the request was made, next to the fields to correct. Closing the dialog
 * does not stop the job: its end is then announced as a notification.
 */
import { Dialog, ISessionContext, Notification } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { errorText } from './api';
import { element } from './dom';
import { IHostReport } from './hostReport';
import { cancelJob, followJob, IJob, IProvisionRequest, IPythons, JobState, startProvisioning } from './jobs';
import { ISettingsValues, requestExtras } from './settings';

/** What to do with the new kernel: a new notebook on it, or the target notebook switched to it. */
export type ReadyAction = 'open' | 'switch';

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

/** Show the dialog; resolves with the provisioned kernel, or null if it was closed before. */
export async function provisionKernel(options: IProvisionDialogOptions): Promise<IProvisioned | null> {
  const dialog = new ProvisionDialog(options);
  await dialog.launch();
  return dialog.provisioned;
}

/** The body has no `getValue`: the outcome is `provisioned`, set before the dialog closes itself. */
class ProvisionDialog extends Dialog<unknown> {
  private readonly _form: ProvisionForm;
  private _job: IJob | null = null;
  private _provisioned: IProvisioned | null = null;
  private _closed = false;

  /** The kernel made while the dialog was open (null if it was closed before). */
  get provisioned(): IProvisioned | null {
    return this._closed ? null : this._provisioned;
  }

  constructor(private readonly _options: IProvisionDialogOptions) {
    const form = new ProvisionForm(_options, () => this._cancel());
    super({
      title: 'Optimized Python for this machine',
      body: form,
      buttons: [Dialog.cancelButton({ label: 'Close' }), Dialog.okButton({ label: 'Create kernel' })],
      defaultButton: CREATE,
      hasClose: true
    });
    this.addClass('jp-pyvariant-provision-dialog');
    this._form = form;
  }

  /** "Create kernel" (or Enter) starts provisioning; the dialog closes itself when it is done. */
  resolve(index?: number): void {
    if ((index ?? CREATE) === CREATE && !this._provisioned) {
      if (!this._job) {
        void this._provision();
      }
      return;
    }
    this._closed = true;
    super.resolve(index);
  }

  reject(): void {
    this._closed = true;
    super.reject();
  }

  private async _provision(): Promise<void> {
    const form = this._form;
    let request: IProvisionRequest;
    try {
      request = { ...form.request(), ...requestExtras(this._options.settings) };
    } catch (error) {
      form.showError(errorText(error));
      return;
    }
    form.start();
    this._setCreateEnabled(false);
    try {
      this._job = await startProvisioning(request);
      const final = await followJob(this._job, job => form.showJob(job));
      if (final.state === 'succeeded' && final.result) {
        warnAboutBuild(final.result.display_name ?? final.result.kernel_name, final.result.warnings);
        await this._succeeded(final.result.kernel_name, final.result.display_name);
      } else {
        this._failed(final);
      }
    } catch (error) {
      form.showError(errorText(error));
      this._notifyIfClosed(() => Notification.error(`Provisioning failed: ${errorText(error)}`));
    } finally {
      this._job = null;
      this._setCreateEnabled(true);
    }
  }

  private async _succeeded(kernelName: string, displayName = kernelName): Promise<void> {
    await this._options.publish(kernelName);
    this._provisioned = { kernelName, displayName, action: this._form.action() };
    if (!this._closed) {
      super.resolve(CREATE);
      return;
    }
    const ready = { ...this._provisioned, action: 'open' as const };
    Notification.success(`Kernel "${displayName}" is ready.`, {
      autoClose: false,
      actions: [{ label: 'Open a notebook', callback: () => void this._options.actLater(ready) }]
    });
  }

  private _failed(job: IJob): void {
    const message =
      job.state === 'cancelled'
        ? 'Provisioning was cancelled; nothing was kept.'
        : job.error || `Provisioning ended in state "${job.state}".`;
    this._form.showError(message, job.log);
    this._notifyIfClosed(() =>
      job.state === 'cancelled' ? undefined : Notification.error(`Provisioning failed: ${message}`)
    );
  }

  private _notifyIfClosed(notify: () => unknown): void {
    if (this._closed) {
      notify();
    }
  }

  private async _cancel(): Promise<void> {
    if (this._job) {
      try {
        await cancelJob(this._job.id);
      } catch (error) {
        this._form.showError(`Could not cancel: ${errorText(error)}`);
      }
    }
  }

  private _setCreateEnabled(enabled: boolean): void {
    const button = this.node.querySelector<HTMLButtonElement>('.jp-Dialog-footer .jp-mod-accept');
    if (button) {
      button.disabled = !enabled;
    }
  }
}

/** The new kernel's interpreter contradicted its archive's name: it is named for the interpreter. */
function warnAboutBuild(displayName: string, warnings: unknown): void {
  for (const warning of Array.isArray(warnings) ? warnings : []) {
    Notification.warning(`Kernel "${displayName}": ${String(warning)}`, { autoClose: false });
  }
}

/** The dialog body: the request fields, then the job's progress, log and error. */
class ProvisionForm extends Widget {
  private readonly _version: HTMLInputElement;
  private readonly _versions: HTMLDataListElement;
  private readonly _level: HTMLSelectElement;
  private readonly _freethreaded: HTMLInputElement;
  private readonly _packages: HTMLInputElement;
  private readonly _switch: HTMLInputElement | null;
  private readonly _progress: HTMLProgressElement;
  private readonly _message: HTMLElement;
  private readonly _log: HTMLPreElement;
  private readonly _error: HTMLElement;
  private readonly _hint: HTMLElement;

  constructor(options: IProvisionDialogOptions, onCancel: () => Promise<void>) {
    super();
    this.addClass('jp-pyvariant-provision');
    this.node.dataset.state = 'idle';
    const fields = element('div', 'jp-pyvariant-provision-fields');

    this._version = input('text', 'jp-pyvariant-version');
    this._version.required = true;
    this._version.pattern = '\\d+\\.\\d+(\\.\\d+)?';
    this._version.placeholder = '3.13';
    this._versions = element('datalist');
    this._versions.id = `jp-pyvariant-versions-${this.id}`;
    this._version.setAttribute('list', this._versions.id);
    fields.append(labelled('Python version', this._version), this._versions);

    this._level = element('select', 'jp-pyvariant-level');
    this._level.append(option('auto', 'Best for this machine', true));
    fields.append(labelled('CPU level', this._level));

    this._freethreaded = input('checkbox', 'jp-pyvariant-freethreaded');
    fields.append(labelled('Free-threaded (no GIL)', this._freethreaded, true));

    this._packages = input('text', 'jp-pyvariant-packages');
    this._packages.placeholder = 'numpy scipy (optional)';
    fields.append(labelled('Packages to add', this._packages));

    this._switch = null;
    if (options.target) {
      const choice = element('fieldset', 'jp-pyvariant-then');
      choice.append(element('legend', '', 'When the kernel is ready'));
      const open = input('radio', '');
      const switchTarget = input('radio', '');
      open.name = switchTarget.name = `jp-pyvariant-then-${this.id}`;
      open.checked = !options.preferSwitch;
      switchTarget.checked = options.preferSwitch;
      choice.append(
        labelled('open a new notebook on it', open, true),
        labelled(`switch "${options.target.name}" to it`, switchTarget, true)
      );
      fields.append(choice);
      this._switch = switchTarget;
    }
    this._hint = element('p', 'jp-pyvariant-provision-hint');

    const progress = element('div', 'jp-pyvariant-provision-progress');
    this._progress = element('progress');
    this._progress.max = 1;
    this._message = element('span', 'jp-pyvariant-progress-message');
    const cancel = element('button', 'jp-mod-styled jp-mod-warn jp-pyvariant-cancel', 'Cancel provisioning');
    cancel.type = 'button';
    cancel.addEventListener('click', () => void onCancel());
    const log = element('details', 'jp-pyvariant-provision-log');
    this._log = element('pre');
    log.append(element('summary', '', 'Log'), this._log);
    progress.append(this._progress, this._message, cancel, log);

    this._error = element('div', 'jp-pyvariant-error');
    this._error.setAttribute('role', 'alert');

    this.node.append(fields, this._hint, progress, this._error);
    void this._fill(options);
  }

  /** The request as typed; throws with a message naming the field that is wrong. */
  request(): IProvisionRequest {
    const version = this._version.value.trim();
    if (!this._version.checkValidity() || !version) {
      throw new Error(`Python version "${version}" is not a version like 3.13`);
    }
    return {
      version,
      level: this._level.value,
      freethreaded: this._freethreaded.checked,
      packages: this._packages.value.split(/[\s,]+/).filter(Boolean)
    };
  }

  action(): ReadyAction {
    return this._switch?.checked ? 'switch' : 'open';
  }

  start(): void {
    this._error.textContent = '';
    this._log.textContent = '';
    this._message.textContent = 'Starting…';
    this._progress.removeAttribute('value');
    this._setState('pending');
  }

  showJob(job: IJob): void {
    const { done, total, message } = job.progress;
    if (total) {
      this._progress.value = Math.min(done / total, 1);
      this._message.textContent = `${message} (${Math.round((100 * done) / total)}%)`;
    } else {
      this._progress.removeAttribute('value');
      this._message.textContent = message;
    }
    this._log.textContent = job.log.join('\n');
    this._setState(job.state);
  }

  showError(message: string, log?: string[]): void {
    this._error.textContent = message;
    if (log) {
      this._log.textContent = log.join('\n');
    }
    this._setState(this.node.dataset.state === 'cancelled' ? 'cancelled' : 'failed');
  }

  private _setState(state: JobState | 'idle'): void {
    this.node.dataset.state = state;
    const busy = state === 'pending' || state === 'running';
    for (const field of [this._version, this._level, this._freethreaded, this._packages]) {
      field.disabled = busy;
    }
  }

  /** Suggestions and preselection, as the host report and the catalog arrive. */
  private async _fill(options: IProvisionDialogOptions): Promise<void> {
    const [host, pythons] = await Promise.allSettled([options.host, options.pythons]);
    if (host.status === 'fulfilled') {
      this._fillLevels(host.value, options.settings.defaultLevel);
    }
    if (pythons.status === 'fulfilled') {
      const minors = [...new Set(pythons.value.builds.map(build => minorOf(build.version)))];
      this._versions.replaceChildren(...minors.map(minor => option(minor, minor)));
      const best = pythons.value.best;
      if (!this._version.value && (best || minors.length)) {
        this._version.value = best ? minorOf(best.version) : minors[0];
      }
      this._hint.textContent = best
        ? `Best fit: CPython ${best.version} built for ${best.level ?? pythons.value.host.arch} (${best.flavour}).`
        : pythons.value.explain.join(' ');
    } else {
      this._hint.textContent = `The list of builds is unavailable (${errorText(pythons.reason)}); type a version.`;
    }
  }

  private _fillLevels(host: IHostReport, preferred: string): void {
    const own = host.cpu.isa_level ?? 'unknown';
    this._level.options[0].text = `Best for this machine (${own})`;
    // The report lists the published levels and which ones this CPU runs; none: no level split.
    for (const { level, flag, runs } of host.recommendations.kernel_levels ?? []) {
      const choice = option(flag, `${level}${runs ? '' : ' (this CPU cannot run it)'}`);
      choice.disabled = !runs;
      this._level.append(choice);
    }
    const wanted = [...this._level.options].find(o => o.value === preferred && !o.disabled);
    this._level.value = wanted ? preferred : 'auto';
  }
}

function minorOf(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

function input(type: string, className: string): HTMLInputElement {
  const node = element('input', className);
  node.type = type;
  if (type === 'text') {
    node.classList.add('jp-mod-styled');
  }
  return node;
}

function option(value: string, text: string, selected = false): HTMLOptionElement {
  return new Option(text, value, selected, selected);
}

/** A label around its control: clicking the text focuses or toggles it. */
function labelled(text: string, control: HTMLElement, after = false): HTMLLabelElement {
  const label = element('label', 'jp-pyvariant-field');
  const caption = element('span', '', text);
  label.append(...(after ? [control, caption] : [caption, control]));
  return label;
}
