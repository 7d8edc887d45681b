/**
 * jupyter-pyvariant front end for JupyterLab 4 and Notebook 7.
 *
 * One plugin per concern: the shared report client, the palette command, the status item.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';

import { HostReportClient } from './client';
import { showHostReport } from './dialog';
import { IsaLevelStatus } from './status';
import { IHostReportClient } from './tokens';

export { IHostReportClient } from './tokens';
export type { IHostReport } from './hostReport';

/** Command ids, stable so that tests, menus and shortcuts can name them. */
export namespace CommandIDs {
  export const showHostReport = 'pyvariant:show-host-report';
}

const PALETTE_CATEGORY = 'Python variants';

const clientPlugin: JupyterFrontEndPlugin<IHostReportClient> = {
  id: 'jupyter-pyvariant:client',
  description: 'Fetches the report of the host running the Jupyter server.',
  autoStart: true,
  provides: IHostReportClient,
  activate: () => new HostReportClient()
};

const commandPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-pyvariant:host-report-command',
  description: 'Adds the "Show host report" command.',
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
    palette?.addItem({ command: CommandIDs.showHostReport, category: PALETTE_CATEGORY });
  }
};

const statusPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-pyvariant:isa-status',
  description: "Shows the Jupyter server host's ISA level in the status bar.",
  autoStart: true,
  requires: [IHostReportClient],
  optional: [IStatusBar],
  activate: (app: JupyterFrontEnd, client: IHostReportClient, statusBar: IStatusBar | null) => {
    if (!statusBar) {
      return;
    }
    const item = new IsaLevelStatus(() => void app.commands.execute(CommandIDs.showHostReport));
    statusBar.registerStatusItem('jupyter-pyvariant:isa-status', { item, align: 'left', rank: 100 });
    client.serverHost().then(
      report => item.showReport(report),
      error => item.showError(error)
    );
  }
};

export default [clientPlugin, commandPlugin, statusPlugin];
