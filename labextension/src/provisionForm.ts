/**
 * The body of the provisioning dialog: what to build (version, CPU level, free-threaded, packages,
 * name), what is already there (a kernel of the same build: open it, switch to it, or name the new
 * one otherwise), then the job's progress, its words and its details.
 *
 * Every check says why next to its field: a button is never greyed out without a reason in sight.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { errorText } from './api';
import { element } from './dom';
import { existingWords, findExisting } from './existingKernel';
import { IHostReport } from './hostReport';
import { IJob, IKernelEntry, IProvisionRequest, IPythonBuild, IPythons } from './jobs';
import { IJobView, JobState, reduceJob } from './jobState';
import { defaultName, levelFlag, minorOf, nameProblem } from './kernelNames';

/** What to do with a kernel: a new notebook on it, or the target notebook switched to it. */
export type ReadyAction = 'open' | 'switch';

const VERSION = /^\d+\.\d+(\.\d+)?$/;

export interface IFormOptions {
  host: Promise<IHostReport>;
  pythons: Promise<IPythons>;
  kernels: Promise<IKernelEntry[]>;
  defaultLevel: string;
  target: ISessionContext | null;
  preferSwitch: boolean;
  /** Use a kernel that exists already ("Open" or "Switch" next to the notice). */
  useExisting: (kernel: IKernelEntry, action: ReadyAction) => void;
  /** Something changed what "Create kernel" may do. */
  changed: () => void;
}

export class ProvisionForm extends Widget {
  private readonly _version: HTMLInputElement;
  private readonly _versionProblem: HTMLElement;
  private readonly _versions: HTMLDataListElement;
  private readonly _level: HTMLSelectElement;
  private readonly _freethreaded: HTMLInputElement;
  private readonly _packages: HTMLInputElement;
  private readonly _name: HTMLInputElement;
  private readonly _nameProblem: HTMLElement;
  private readonly _existing: HTMLElement;
  private readonly _existingText: HTMLElement;
  private readonly _switch: HTMLInputElement | null;
  private readonly _progress: HTMLProgressElement;
  private readonly _message: HTMLElement;
  private readonly _log: HTMLPreElement;
  private readonly _error: HTMLElement;
  private readonly _hint: HTMLElement;
  private _builds: IPythonBuild[] = [];
  private _kernels: IKernelEntry[] = [];
  private _suggested = '';
  private _match: IKernelEntry | null = null;
  private _view: IJobView | null = null;

  constructor(
    private readonly _options: IFormOptions,
    onCancel: () => void,
    onManage: () => void
  ) {
    super();
    this.addClass('jp-pyvariant-provision');
    this.node.dataset.state = 'idle';
    const fields = element('div', 'jp-pyvariant-provision-fields');

    this._version = input('text', 'jp-pyvariant-version');
    this._version.placeholder = '3.13';
    this._versions = element('datalist');
    this._versions.id = `jp-pyvariant-versions-${this.id}`;
    this._version.setAttribute('list', this._versions.id);
    this._versionProblem = problem();
    fields.append(labelled('Python version', this._version), this._versionProblem, this._versions);

    this._level = element('select', 'jp-pyvariant-level jp-mod-styled');
    this._level.append(option('auto', 'Best for this machine', true));
    fields.append(labelled('CPU level', this._level));

    this._freethreaded = input('checkbox', 'jp-pyvariant-freethreaded');
    fields.append(labelled('Free-threaded (no GIL)', this._freethreaded, true));

    this._packages = input('text', 'jp-pyvariant-packages');
    this._packages.placeholder = 'numpy scipy (optional)';
    fields.append(labelled('Packages to add', this._packages));

    this._name = input('text', 'jp-pyvariant-name');
    this._name.title = 'The kernel\'s name in the kernel list; letters, digits, ".", "_" and "-"';
    this._nameProblem = problem();
    fields.append(labelled('Kernel name', this._name), this._nameProblem);

    this._existing = element('div', 'jp-pyvariant-existing');
    this._existing.setAttribute('role', 'status');
    this._existingText = element('p');
    const open = button('Open a new notebook on it', 'jp-pyvariant-existing-open', 'Nothing new is set up');
    open.addEventListener('click', () => this._match && _options.useExisting(this._match, 'open'));
    this._existing.append(this._existingText, open);
    if (_options.target) {
      const switchTo = button(
        `Switch "${_options.target.name}" to it`,
        'jp-pyvariant-existing-switch',
        'Nothing new is set up'
      );
      switchTo.addEventListener('click', () => this._match && _options.useExisting(this._match, 'switch'));
      this._existing.append(switchTo);
    }
    this._existing.hidden = true;
    fields.append(this._existing);

    this._switch = null;
    if (_options.target) {
      const choice = element('fieldset', 'jp-pyvariant-then');
      choice.append(element('legend', '', 'When the kernel is ready'));
      const openNew = input('radio', '');
      const switchTarget = input('radio', '');
      openNew.name = switchTarget.name = `jp-pyvariant-then-${this.id}`;
      openNew.checked = !_options.preferSwitch;
      switchTarget.checked = _options.preferSwitch;
      choice.append(
        labelled('open a new notebook on it', openNew, true),
        labelled(`switch "${_options.target.name}" to it`, switchTarget, true)
      );
      fields.append(choice);
      this._switch = switchTarget;
    }
    this._hint = element('p', 'jp-pyvariant-provision-hint');

    const progress = element('div', 'jp-pyvariant-provision-progress');
    this._progress = element('progress');
    this._progress.max = 1;
    this._message = element('span', 'jp-pyvariant-progress-message');
    this._message.setAttribute('aria-live', 'polite');
    const cancel = button(
      'Cancel',
      'jp-mod-warn jp-pyvariant-cancel',
      'Stop setting up this kernel; nothing is kept'
    );
    cancel.addEventListener('click', onCancel);
    const log = element('details', 'jp-pyvariant-provision-log');
    this._log = element('pre');
    log.append(element('summary', '', 'Details'), this._log);
    progress.append(this._progress, this._message, cancel, log);

    this._error = element('div', 'jp-pyvariant-error');
    this._error.setAttribute('role', 'alert');

    const manage = button('Kernels set up here…', 'jp-pyvariant-manage-open', 'List and remove kernels');
    manage.addEventListener('click', onManage);

    this.node.append(fields, this._hint, progress, this._error, manage);
    for (const field of [this._version, this._name, this._packages]) {
      field.addEventListener('input', () => this._check());
    }
    for (const field of [this._level, this._freethreaded]) {
      field.addEventListener('change', () => this._check());
    }
    void this._fill();
  }

  /** Whether "Create kernel" can start now; when not, the reason is shown next to its field. */
  get ready(): boolean {
    return !this._view?.busy && !this._versionProblem.textContent && !this._nameProblem.textContent;
  }

  /** The request as typed (call when `ready`); the name only when it is not the server's own. */
  request(): IProvisionRequest {
    const name = this._name.value.trim().toLowerCase();
    return {
      version: this._version.value.trim(),
      level: this._level.value,
      freethreaded: this._freethreaded.checked,
      packages: this._packages.value.split(/[\s,]+/).filter(Boolean),
      ...(name && name !== this._suggested ? { name } : {})
    };
  }

  action(): ReadyAction {
    return this._switch?.checked ? 'switch' : 'open';
  }

  start(): void {
    this._error.textContent = '';
    this._log.textContent = '';
    this.showJob({ state: 'pending', progress: { done: 0, total: null, message: 'starting' }, error: null });
  }

  /** Show one snapshot of the job (the dialog's own or a running one it was reopened on). */
  showJob(
    job: Pick<IJob, 'state' | 'progress' | 'error'> & { log?: string[]; request?: IJob['request'] }
  ): void {
    const view = (this._view = reduceJob(this._view, job));
    this._progress.hidden = view.barHidden;
    if (view.fraction === null && view.busy) {
      this._progress.removeAttribute('value');
    } else {
      this._progress.value = view.fraction ?? 0;
    }
    this._message.textContent = view.busy ? view.words : '';
    this._message.title = view.busy ? job.progress.message : '';
    if (job.log) {
      this._log.textContent = job.log.join('\n');
    }
    if (!view.busy && view.state !== 'succeeded') {
      this._error.textContent = view.words;
      if (job.error && /already exists|being provisioned/.test(job.error)) {
        this._nameProblem.textContent = 'A kernel has this name already: type another name.';
      }
    }
    if (job.request?.version && !this._version.value) {
      this._version.value = job.request.version;
    }
    this._setState(view.state);
  }

  /** The server refused the request before any job: its message, next to the field it is about. */
  refused(message: string): void {
    if (this._view?.busy) {
      this._view = null;
      this._progress.hidden = true;
      this._message.textContent = '';
      this._setState('idle');
    }
    if (/kernel name|named/.test(message)) {
      this._nameProblem.textContent = message;
    } else if (/^version/.test(message)) {
      this._versionProblem.textContent = message;
    } else {
      this._error.textContent = message;
    }
    this._options.changed();
  }

  private _setState(state: JobState | 'idle'): void {
    this.node.dataset.state = state;
    const busy = state === 'pending' || state === 'running';
    for (const field of [this._version, this._level, this._freethreaded, this._packages, this._name]) {
      field.disabled = busy;
    }
    this._options.changed();
  }

  /** Check the fields and find the kernel already here (see existingKernel.ts); says why wherever something is wrong. */
  private _check(): void {
    const version = this._version.value.trim();
    this._versionProblem.textContent = VERSION.test(version)
      ? ''
      : version
        ? `"${version}" is not a Python version: type one like 3.13 or 3.13.5.`
        : 'Type a Python version, like 3.13.';
    const minor = minorOf(version);
    const freethreaded = this._freethreaded.checked;
    const level = this._levelFor(minor, freethreaded);
    const suggested = VERSION.test(version) ? defaultName(minor, freethreaded, level) : '';
    if (!this._name.value.trim() || this._name.value.trim().toLowerCase() === this._suggested) {
      this._name.value = suggested;
    }
    this._suggested = suggested;
    const name = this._name.value.trim().toLowerCase();
    const existing = findExisting(this._kernels, { name, suggested, minor, freethreaded, level });
    this._match = existing?.kernel ?? null;
    const words = existing ? existingWords(existing) : null;
    this._nameProblem.textContent = nameProblem(name) ?? words?.problem ?? '';
    this._existing.hidden = !words;
    this._existingText.textContent = words?.notice ?? '';
    this._options.changed();
  }

  /** The CPU level the server will choose: the one asked for, else that of the best build. */
  private _levelFor(minor: string, freethreaded: boolean): string {
    if (this._level.value !== 'auto') {
      return this._level.value;
    }
    const best = this._builds.find(
      build =>
        minorOf(build.version) === minor &&
        build.flavour.includes('freethreaded') === freethreaded &&
        !build.flavour.includes('debug')
    );
    return levelFlag(best?.level);
  }

  /** Suggestions and preselection, as the host report, the builds and the kernels arrive. */
  private async _fill(): Promise<void> {
    const options = this._options;
    const [host, pythons, kernels] = await Promise.allSettled([
      options.host,
      options.pythons,
      options.kernels
    ]);
    if (host.status === 'fulfilled') {
      this._fillLevels(host.value, options.defaultLevel);
    }
    this._kernels = kernels.status === 'fulfilled' ? kernels.value : [];
    if (pythons.status === 'fulfilled') {
      this._builds = pythons.value.builds;
      const minors = [...new Set(this._builds.map(build => minorOf(build.version)))];
      this._versions.replaceChildren(...minors.map(minor => option(minor, minor)));
      const best = pythons.value.best;
      if (!this._version.value && (best || minors.length)) {
        this._version.value = best ? minorOf(best.version) : minors[0];
      }
      this._hint.textContent = best
        ? `Best fit: Python ${best.version} built for ${best.level ?? `any ${pythons.value.host.arch} CPU`}.`
        : pythons.value.explain.join(' ');
      this._hint.title = best ? `Build ${best.release}, ${best.triple}, ${best.flavour}` : '';
    } else {
      this._hint.textContent = `The list of builds is unavailable (${errorText(pythons.reason)}); type a version.`;
    }
    this._check();
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

function input(type: string, className: string): HTMLInputElement {
  const node = element('input', className);
  node.type = type;
  if (type === 'text') {
    node.classList.add('jp-mod-styled');
  }
  return node;
}

function button(text: string, className: string, title: string): HTMLButtonElement {
  const node = element('button', `jp-mod-styled ${className}`, text);
  node.type = 'button';
  node.title = title;
  return node;
}

/** The line under a field that says what is wrong with it. */
function problem(): HTMLElement {
  const node = element('span', 'jp-pyvariant-field-problem');
  node.setAttribute('aria-live', 'polite');
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
