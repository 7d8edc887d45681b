/**
 * "Kernels set up here": the provisioned kernels with the build facts checked when each was made,
 * and a Remove button for each, confirmed first. Dialogs are shown one after the other, never one
 * over another (two open dialogs would each pull the keyboard focus back to themselves).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { errorText } from './api';
import { element } from './dom';
import { fetchKernels, IKernelEntry, removeKernel } from './jobs';

/** What the person chose in the list: close it, set up a new kernel, or remove one. */
export type ManagerChoice =
  { action: 'close' } | { action: 'new' } | { action: 'remove'; kernel: IKernelEntry };

const NEW = 1;

/**
 * Show the list until it is closed; resolves with true when the person asked to set up a new kernel.
 * `refresh` makes the application forget a removed kernel (refreshes the kernel list).
 */
export async function manageKernels(refresh: () => Promise<void>): Promise<boolean> {
  let note = '';
  for (;;) {
    const choice = await showList(note);
    if (choice.action !== 'remove') {
      return choice.action === 'new';
    }
    note = await confirmAndRemove(choice.kernel, refresh);
  }
}

async function showList(note: string): Promise<ManagerChoice> {
  let kernels: IKernelEntry[] = [];
  let problem = '';
  try {
    kernels = await fetchKernels();
  } catch (error) {
    problem = `The list of kernels is unavailable: ${errorText(error)}`;
  }
  const list = new KernelList(kernels, note || problem);
  const dialog = new Dialog<ManagerChoice>({
    title: 'Kernels set up here',
    body: list,
    buttons: [Dialog.cancelButton({ label: 'Close' }), Dialog.okButton({ label: 'Set up a new kernel…' })],
    defaultButton: NEW
  });
  dialog.addClass('jp-pyvariant-manage-dialog');
  list.onRemove = kernel => {
    list.chosen = kernel;
    dialog.resolve(0);
  };
  const result = await dialog.launch();
  if (list.chosen) {
    return { action: 'remove', kernel: list.chosen };
  }
  return { action: result.button.accept ? 'new' : 'close' };
}

async function confirmAndRemove(kernel: IKernelEntry, refresh: () => Promise<void>): Promise<string> {
  const answer = await showDialog({
    title: `Remove kernel "${kernel.display_name}"?`,
    body:
      'Its Python environment and its entry in the kernel list are deleted. Notebooks running it ' +
      'keep it until they restart or change kernel.',
    buttons: [Dialog.cancelButton({ label: 'Keep it' }), Dialog.warnButton({ label: 'Remove' })],
    defaultButton: 0
  });
  if (!answer.button.accept) {
    return '';
  }
  try {
    await removeKernel(kernel.name);
  } catch (error) {
    return `Kernel "${kernel.display_name}" was not removed: ${errorText(error)}`;
  }
  await refresh().catch(() => undefined);
  return `Kernel "${kernel.display_name}" was removed.`;
}

/** One row per kernel; values come from the server and are set as text, never as HTML. */
class KernelList extends Widget {
  onRemove: (kernel: IKernelEntry) => void = () => undefined;
  chosen: IKernelEntry | null = null;

  constructor(kernels: IKernelEntry[], note: string) {
    super();
    this.addClass('jp-pyvariant-manage');
    if (note) {
      const status = element('p', 'jp-pyvariant-manage-note', note);
      status.setAttribute('role', 'status');
      this.node.append(status);
    }
    if (!kernels.length) {
      this.node.append(element('p', '', 'No kernel has been set up with this extension yet.'));
      return;
    }
    const table = element('table', 'jp-pyvariant-manage-table');
    const head = table.createTHead().insertRow();
    for (const title of ['Kernel', 'Python', 'Built for', 'State', '']) {
      head.appendChild(element('th', '', title));
    }
    const body = table.createTBody();
    for (const kernel of kernels) {
      const row = body.insertRow();
      row.dataset.kernelName = kernel.name;
      const name = element('td', '', kernel.display_name);
      name.title = `Kernel name: ${kernel.name}\nPython: ${kernel.python}`;
      row.appendChild(name);
      row.appendChild(element('td', '', pythonWords(kernel)));
      row.appendChild(element('td', '', kernel.level ?? 'any CPU'));
      const state = element('td', '', kernel.usable ? 'ready' : 'its Python is missing');
      if (kernel.warnings.length) {
        state.textContent += ' ⚠';
        state.title = kernel.warnings.join('\n');
      }
      row.appendChild(state);
      const remove = element('button', 'jp-mod-styled jp-mod-warn jp-pyvariant-remove', 'Remove');
      remove.type = 'button';
      remove.title = `Remove kernel "${kernel.display_name}"`;
      remove.addEventListener('click', () => this.onRemove(kernel));
      row.appendChild(element('td')).appendChild(remove);
    }
    this.node.append(table);
  }
}

function pythonWords(kernel: IKernelEntry): string {
  const version = kernel.version ?? '?';
  return kernel.freethreaded ? `${version}, free-threaded` : version;
}
