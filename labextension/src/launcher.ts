/**
 * The launcher: the provisioning entry among the Notebook cards (what it makes is a notebook on a
 * new kernel), and each provisioned kernel once, as the Notebook card JupyterLab makes for every
 * kernel. JupyterLab also makes a Console card per kernel; for a provisioned kernel that doubles
 * every build in the launcher, so those cards are left out.
 */
import { ILauncher } from '@jupyterlab/launcher';

/** After the default kernel's card (rank 0), before the other kernels' (ranked last). */
const PROVISION_RANK = 1;
const CONSOLE_COMMAND = 'console:create';

/** `iconUrl`: the card's image (the launcher draws Notebook cards from a kernel logo's URL). */
export function addLauncherEntry(
  launcher: ILauncher,
  command: string,
  notebookCategory: string,
  iconUrl: string
): void {
  launcher.add({
    command,
    args: { isLauncher: true },
    kernelIconUrl: iconUrl,
    category: notebookCategory,
    rank: PROVISION_RANK
  });
  leaveOutProvisionedConsoles(launcher);
}

/**
 * Whether a launcher card is the Console card of a kernel this project provisioned: JupyterLab
 * passes each kernelspec's metadata on its cards, where a provisioned kernel has its build facts.
 */
export function isProvisionedConsole(item: ILauncher.IItemOptions): boolean {
  const kernel = item.metadata?.kernel;
  return (
    item.command === CONSOLE_COMMAND &&
    !!kernel &&
    typeof kernel === 'object' &&
    !Array.isArray(kernel) &&
    'pyvariant' in kernel
  );
}

/**
 * The launcher lists its cards from its model's `items()`; ILauncher offers no way to withdraw
 * another extension's card, so the model's listing is filtered. A launcher without a model's
 * listing (another implementation) keeps all its cards.
 */
function leaveOutProvisionedConsoles(launcher: ILauncher): void {
  const model = launcher as ILauncher & { items?: () => IterableIterator<ILauncher.IItemOptions> };
  const items = model.items?.bind(model);
  if (!items) {
    return;
  }
  model.items = function* () {
    for (const item of items()) {
      if (!isProvisionedConsole(item)) {
        yield item;
      }
    }
  };
}
