/**
 * jupyter-pyvariant front end for JupyterLab 4 and Notebook 7.
 *
 * One plugin per concern: the shared report client, the host report command, the provisioning
 * entry (launcher, kernel menu, palette, settings), the kernel picker, the status item and the
 * `pyvariant` comm that performs kernel switch requests.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  ICommandPalette,
  ISessionContext,
  ISessionContextDialogs,
  Notification,
  showErrorMessage
} from '@jupyterlab/apputils';
import { IConsoleTracker } from '@jupyterlab/console';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { errorText } from './api';
import { HostReportClient } from './client';
import { showHostReport } from './dialog';
import { isUnknown } from './hostReport';
import { fetchPythons } from './jobs';
import { PROVISION_LABEL, PyvariantSessionDialogs } from './kernelPicker';
import { CHIP_IMAGE_URL, chipIcon } from './icon';
import { manageKernels } from './kernelManager';
import { addLauncherEntry } from './launcher';
import { IProvisioned, provisionKernel } from './provisionDialog';
import { refreshAndFind, sessionContextOf } from './session';
import { PyvariantSettings, SETTINGS_PLUGIN_ID } from './settings';
import { CurrentKernelTracker, IsaLevelStatus } from './status';
import { serveSwitchRequests } from './switchComm';
import { IHostReportClient } from './tokens';

export { IHostReportClient } from './tokens';
export type { IHostReport } from './hostReport';

/** Command ids, stable so that tests, menus and shortcuts can name them. */
export namespace CommandIDs {
  export const showHostReport = 'pyvariant:show-host-report';
  export const showKernelReport = 'pyvariant:show-kernel-report';
  export const provision = 'pyvariant:provision-kernel';
  export const refreshKernels = 'pyvariant:refresh-kernels';
  export const manageKernels = 'pyvariant:manage-kernels';
}

const PALETTE_CATEGORY = 'Python variants';
/** The status item's name in a notebook toolbar (Notebook 7, which has no status bar). */
const TOOLBAR_ITEM = 'pyvariant-machine';

const clientPlugin: JupyterFrontEndPlugin<IHostReportClient> = {
  id: 'jupyter-pyvariant:client',
  description: 'Fetches host reports: the Jupyter server host and each kernel host.',
  autoStart: true,
  provides: IHostReportClient,
  activate: () => new HostReportClient()
};

const commandPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-pyvariant:host-report-command',
  description: 'Adds the "Show host report" and "Show kernel host report" commands.',
  autoStart: true,
  requires: [IHostReportClient],
  optional: [ICommandPalette],
  activate: (app: JupyterFrontEnd, client: IHostReportClient, palette: ICommandPalette | null) => {
    app.commands.addCommand(CommandIDs.showHostReport, {
      label: 'Show host report',
      caption: "What the Jupyter server's machine is: CPU level, cores, memory, accelerators",
      execute: async () => {
        try {
          await showHostReport(await client.refresh());
        } catch (error) {
          await showErrorMessage('Host report unavailable', error as Error);
        }
      }
    });
    app.commands.addCommand(CommandIDs.showKernelReport, {
      label: "Show the kernel's host report",
      caption: 'What the machine running the current kernel is, as the kernel itself reports it',
      isEnabled: () => !!sessionContextOf(app.shell.currentWidget)?.session?.kernel,
      execute: async () => {
        const kernel = sessionContextOf(app.shell.currentWidget)?.session?.kernel;
        if (!kernel) {
          return;
        }
        const answer = await client.kernelHost(kernel.id);
        if (isUnknown(answer)) {
          await showErrorMessage('Kernel host report unavailable', answer.reason);
        } else {
          await showHostReport(answer);
        }
      }
    });
    for (const command of [CommandIDs.showHostReport, CommandIDs.showKernelReport]) {
      palette?.addItem({ command, category: PALETTE_CATEGORY });
    }
  }
};

/**
 * The provisioning entry. Its plugin id names the settings schema (`schema/plugin.json`), which
 * also puts the entry into the Kernel menu.
 */
const provisionPlugin: JupyterFrontEndPlugin<void> = {
  id: SETTINGS_PLUGIN_ID,
  description: 'Adds "Optimized Python for this machine": launcher section, Kernel menu, palette, settings.',
  autoStart: true,
  requires: [IHostReportClient],
  optional: [ISettingRegistry, ICommandPalette, ILauncher, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    client: IHostReportClient,
    registry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    translator: ITranslator | null
  ) => {
    const { commands, serviceManager } = app;
    const specs = serviceManager.kernelspecs;
    const settings = new PyvariantSettings();
    registry?.load(SETTINGS_PLUGIN_ID).then(
      loaded => settings.track(loaded),
      error => console.warn('jupyter-pyvariant: settings unavailable, using defaults', error)
    );

    const openNotebook = (kernelName: string, cwd?: unknown): Promise<unknown> =>
      commands.execute('notebook:create-new', { kernelName, ...(typeof cwd === 'string' ? { cwd } : {}) });
    const useKernel = async (ready: IProvisioned, target: ISessionContext | null): Promise<void> => {
      if (ready.action === 'switch' && target && !target.isDisposed) {
        await target.changeKernel({ name: ready.kernelName });
      } else {
        await openNotebook(ready.kernelName);
      }
    };

    commands.addCommand(CommandIDs.provision, {
      // A launcher card has room for two short lines.
      label: args =>
        args.isLauncher
          ? 'Optimized Python'
          : args.isPalette || args.switchCurrent
            ? PROVISION_LABEL
            : 'Optimized Python for this machine',
      caption: 'A new kernel whose Python is built for this machine’s CPU: download, check and start it',
      icon: args => (args.isPalette ? undefined : chipIcon),
      execute: async (args: ReadonlyPartialJSONObject) => {
        const target = switchTarget(app, args.switchPath);
        const ready = await provisionKernel({
          host: client.serverHost(),
          pythons: fetchPythons(),
          settings: settings.values,
          target,
          preferSwitch: !!args.switchCurrent && !!target,
          publish: async name => {
            if (!(await refreshAndFind(specs, name))) {
              throw new Error(`the server reports kernel "${name}" ready but does not list it`);
            }
          },
          actLater: ready => useKernel(ready, null)
        });
        if (ready) {
          try {
            await useKernel(ready, target);
          } catch (error) {
            await showErrorMessage(`Could not start kernel "${ready.displayName}"`, errorText(error));
          }
        }
      }
    });
    commands.addCommand(CommandIDs.refreshKernels, {
      label: 'Refresh the kernel list',
      caption: 'Ask the server for its kernels now instead of at the next poll',
      execute: () => specs.refreshSpecs()
    });
    palette?.addItem({
      command: CommandIDs.provision,
      category: PALETTE_CATEGORY,
      args: { isPalette: true }
    });
    commands.addCommand(CommandIDs.manageKernels, {
      label: 'Kernels set up here…',
      caption: 'The optimized kernels provisioned on this server, with their builds; remove one',
      execute: () => manageKernels(() => specs.refreshSpecs())
    });
    palette?.addItem({ command: CommandIDs.refreshKernels, category: PALETTE_CATEGORY });
    palette?.addItem({ command: CommandIDs.manageKernels, category: PALETTE_CATEGORY });
    if (launcher) {
      addLauncherEntry(
        launcher,
        CommandIDs.provision,
        (translator ?? nullTranslator).load('jupyterlab').__('Notebook'),
        CHIP_IMAGE_URL
      );
    }
  }
};

/** The kernel picker with the provisioning entry (see kernelPicker.ts for why it replaces the core one). */
const sessionDialogsPlugin: JupyterFrontEndPlugin<ISessionContext.IDialogs> = {
  id: 'jupyter-pyvariant:session-dialogs',
  description: 'The "Select Kernel" dialog, with "Optimized Python for this machine…" among its choices.',
  autoStart: true,
  provides: ISessionContextDialogs,
  optional: [ITranslator, ISettingRegistry],
  activate: (app: JupyterFrontEnd, translator: ITranslator | null, registry: ISettingRegistry | null) =>
    new PyvariantSessionDialogs({ translator: translator ?? undefined, settingRegistry: registry }, session =>
      app.commands
        .execute(CommandIDs.provision, { switchCurrent: true, switchPath: session.path })
        .then(() => undefined)
    )
};

/**
 * The session the new kernel may be switched into: the one at `path` (the picker it was chosen
 * from belongs to that session, which need not be in front), else the current widget's.
 */
function switchTarget(app: JupyterFrontEnd, path: unknown): ISessionContext | null {
  if (typeof path === 'string') {
    for (const widget of app.shell.widgets('main')) {
      const session = sessionContextOf(widget);
      if (session?.path === path) {
        return session;
      }
    }
  }
  return sessionContextOf(app.shell.currentWidget);
}

const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-pyvariant:isa-status',
  description:
    "Shows the current kernel's build and CPU level, its GPUs, or the server's CPU level: in the " +
    "status bar, or in each notebook's toolbar where there is no status bar (Notebook 7).",
  autoStart: true,
  requires: [IHostReportClient],
  optional: [IStatusBar, INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    client: IHostReportClient,
    statusBar: IStatusBar | null,
    notebooks: INotebookTracker | null
  ) => {
    const newItem = (): IsaLevelStatus =>
      new IsaLevelStatus(report =>
        report ? void showHostReport(report) : void app.commands.execute(CommandIDs.showHostReport)
      );
    if (statusBar) {
      const item = newItem();
      statusBar.registerStatusItem('jupyter-pyvariant:isa-status', {
        item,
        align: 'left',
        rank: 100,
        isActive: () => item.known,
        activeStateChanged: item.knownChanged
      });
      const tracker = new CurrentKernelTracker(item, client);
      app.shell.currentChanged?.connect((_, change) => tracker.follow(change.newValue));
      tracker.follow(app.shell.currentWidget);
      return;
    }
    const addToToolbar = (panel: NotebookPanel): void => {
      const item = newItem();
      if (!panel.toolbar.insertBefore('kernelName', TOOLBAR_ITEM, item)) {
        panel.toolbar.addItem(TOOLBAR_ITEM, item);
      }
      new CurrentKernelTracker(item, client).follow(panel);
    };
    notebooks?.widgetAdded.connect((_, panel) => addToToolbar(panel));
    notebooks?.forEach(addToToolbar);
  }
};

const switchPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-pyvariant:switch-comm',
  description: 'Performs `%pyvariant kernel switch` requests from kernels (comm target "pyvariant").',
  autoStart: true,
  optional: [INotebookTracker, IConsoleTracker],
  activate: (app: JupyterFrontEnd, notebooks: INotebookTracker | null, consoles: IConsoleTracker | null) => {
    const specs = app.serviceManager.kernelspecs;
    const serve = (sessionContext: ISessionContext): void =>
      serveSwitchRequests({
        sessionContext,
        lookup: name => refreshAndFind(specs, name),
        onSwitchFailed: message => Notification.error(message)
      });
    notebooks?.widgetAdded.connect((_, panel) => serve(panel.sessionContext));
    notebooks?.forEach(panel => serve(panel.sessionContext));
    consoles?.widgetAdded.connect((_, panel) => serve(panel.sessionContext));
    consoles?.forEach(panel => serve(panel.sessionContext));
  }
};

export default [
  clientPlugin,
  commandPlugin,
  provisionPlugin,
  sessionDialogsPlugin,
  statusPlugin,
  switchPlugin
];
