/** Services other plugins (and other extensions) can require. */
import { Token } from '@lumino/coreutils';

import { IHostReport } from './hostReport';

/** The server host's report, fetched once and shared by every view that shows it. */
export interface IHostReportClient {
  /** The cached report of the host running the Jupyter server (fetched on first call). */
  serverHost(): Promise<IHostReport>;
  /** Fetch the server host's report again (after a failure, or when the user asks). */
  refresh(): Promise<IHostReport>;
}

export const IHostReportClient = new Token<IHostReportClient>(
  'jupyter-pyvariant:IHostReportClient',
  'The report of the host running the Jupyter server.'
);
