/**
 * The "Select Kernel" dialog, with "Optimized Python for this machine…" among its choices and the
 * build facts of provisioned kernels in their tooltips (a ⚠ marks a kernel whose interpreter
 * contradicted its archive's name).
 *
 * JupyterLab 4 builds that dialog inside `SessionContextDialogs.selectKernel` and offers no hook to
 * add a choice, so this subclass replaces it, reusing the public `kernelOptions` for every standard
 * choice; the extension's package.json disables the core provider it stands in for
 * (`@jupyterlab/apputils-extension:sessionDialogs`). The toolbar's kernel name, the kernel menu's
 * "Change Kernel…" and the status bar's kernel item all open this dialog, in JupyterLab and in
 * Notebook 7 alike.
 */
import { Dialog, ISessionContext, SessionContextDialogs } from '@jupyterlab/apputils';
import { Kernel, KernelSpec } from '@jupyterlab/services';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { element } from './dom';

export const PROVISION_LABEL = 'Optimized Python for this machine…';
const PROVISION_VALUE = JSON.stringify({ pyvariant: 'provision' });

/** A spec (`{name}`), a running kernel (`{id}`), no kernel (null), or the provisioning entry. */
type Choice = Partial<Kernel.IModel> | null | { pyvariant: 'provision' };

export class PyvariantSessionDialogs extends SessionContextDialogs {
  private readonly _labTranslator: ITranslator;

  /** `provision` opens the provisioning dialog, offering to switch `sessionContext` to the new kernel. */
  constructor(
    options: ISessionContext.IDialogsOptions,
    private readonly _provision: (sessionContext: ISessionContext) => Promise<void>
  ) {
    super(options);
    this._labTranslator = options.translator ?? nullTranslator;
  }

  async selectKernel(sessionContext: ISessionContext): Promise<void> {
    if (sessionContext.isDisposed) {
      return;
    }
    const trans = this._labTranslator.load('jupyterlab');
    const autoStartDefault = sessionContext.kernelPreference.autoStartDefault;
    const hasCheckbox = typeof autoStartDefault === 'boolean';
    const selector = new KernelSelector(sessionContext, this._labTranslator);
    const dialog = new Dialog<Choice>({
      title: trans.__('Select Kernel'),
      body: selector,
      buttons: [
        Dialog.cancelButton({
          label: sessionContext.hasNoKernel ? sessionContext.kernelDisplayName : trans.__('Cancel')
        }),
        Dialog.okButton({ label: trans.__('Select'), ariaLabel: trans.__('Select Kernel') })
      ],
      checkbox: hasCheckbox
        ? {
            label: trans.__('Always start the preferred kernel'),
            caption: trans.__('Remember my choice and always start the preferred kernel'),
            checked: autoStartDefault
          }
        : null
    });
    // Choosing the provisioning entry needs no second click on "Select".
    selector.onProvisionChosen = () => dialog.resolve(1);
    const result = await dialog.launch();
    if (sessionContext.isDisposed || !result.button.accept) {
      return;
    }
    if (hasCheckbox && result.isChecked !== null) {
      sessionContext.kernelPreference = {
        ...sessionContext.kernelPreference,
        autoStartDefault: result.isChecked
      };
    }
    const choice = result.value;
    if (choice && 'pyvariant' in choice) {
      return this._provision(sessionContext);
    }
    if (choice === null && !sessionContext.hasNoKernel) {
      return sessionContext.shutdown();
    }
    if (choice) {
      await sessionContext.changeKernel(choice);
    }
  }
}

/** The `<select>` of the core dialog, plus the provisioning entry and build-fact tooltips. */
class KernelSelector extends Widget {
  onProvisionChosen: () => void = () => undefined;
  private readonly _select: HTMLSelectElement;

  constructor(sessionContext: ISessionContext, translator: ITranslator) {
    super();
    const trans = translator.load('jupyterlab');
    const options = SessionContextDialogs.kernelOptions(sessionContext, translator);
    const specs = sessionContext.specsManager.specs?.kernelspecs ?? {};
    this.node.append(element('label', '', `${trans.__('Select kernel for:')} "${sessionContext.name}"`));
    this._select = element('select', 'jp-pyvariant-kernel-select');
    this._select.disabled = !!options.disabled;
    const groups = [...options.groups];
    if (!options.disabled) {
      groups.splice(1, 0, {
        label: 'Optimized Python',
        options: [
          {
            text: PROVISION_LABEL,
            value: PROVISION_VALUE,
            title: 'Set up a kernel whose Python is built for this CPU'
          }
        ]
      });
    }
    for (const group of groups) {
      const optgroup = element('optgroup');
      optgroup.label = group.label;
      for (const { selected, text, title, value } of group.options) {
        const spec = specs[(JSON.parse(value) as Partial<Kernel.IModel> | null)?.name ?? ''];
        const warned = buildWarnings(spec).length > 0;
        const choice = new Option(warned ? `${text} ⚠` : text, value, false, !!selected);
        choice.title = title ?? buildFacts(spec) ?? '';
        optgroup.append(choice);
      }
      this._select.append(optgroup);
    }
    // Arrow keys move the highlight through the choices (each move is a "change"): only a pointer's
    // choice opens the provisioning dialog at once; from the keyboard, Enter does (it selects).
    let byKeyboard = false;
    this._select.addEventListener('keydown', () => (byKeyboard = true));
    this._select.addEventListener('pointerdown', () => (byKeyboard = false));
    this._select.addEventListener('change', () => {
      if (!byKeyboard && this._select.value === PROVISION_VALUE) {
        this.onProvisionChosen();
      }
    });
    this.node.append(this._select);
  }

  getValue(): Choice {
    return JSON.parse(this._select.value) as Choice;
  }
}

/**
 * "CPython 3.13.5 · x86-64-v3 · PGO+LTO", its packages and its warnings, from a provisioned
 * kernelspec's `metadata.pyvariant`.
 */
export function buildFacts(spec: KernelSpec.ISpecModel | undefined): string | null {
  const facts = pyvariantMetadata(spec);
  if (!facts) {
    return null;
  }
  const label =
    typeof facts.label === 'string'
      ? facts.label
      : [facts.version, facts.level, facts.flavour].filter(Boolean).join(' · ');
  const packages = Array.isArray(facts.packages) && facts.packages.length ? facts.packages.join(' ') : '';
  const lines = [label, ...(packages ? [`Packages: ${packages}`] : [])];
  return [...lines, ...buildWarnings(spec).map(warning => `Warning: ${warning}`)].join('\n');
}

/**
 * Where the kernel's interpreter contradicts its archive's name, as checked when it was provisioned
 * (the kernel is named for the interpreter; these say what the catalog claimed).
 */
export function buildWarnings(spec: KernelSpec.ISpecModel | undefined): string[] {
  const warnings = pyvariantMetadata(spec)?.warnings;
  return Array.isArray(warnings) ? warnings.filter((w): w is string => typeof w === 'string') : [];
}

/** The build facts a provisioned kernelspec carries, or null for other kernels. */
export function pyvariantMetadata(spec: KernelSpec.ISpecModel | undefined): Record<string, unknown> | null {
  const facts = spec?.metadata?.pyvariant;
  return facts && typeof facts === 'object' ? (facts as Record<string, unknown>) : null;
}
