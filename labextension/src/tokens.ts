/** Services other plugins (and other extensions) can require. */
import { Token } from '@lumino/coreutils';

import { IHostReport, KernelHostAnswer } from './hostReport';

/** Host reports, fetched once and shared by every view that shows them. */
export interface IHostReportClient {
  /** The cached report of the host running the Jupyter server (fetched on first call). */
  serverHost(): Promise<IHostReport>;
  /** Fetch the server host's report again (after a failure, or when the user asks). */
  refresh(): Promise<IHostReport>;
  /**
   * The report a kernel gives of its own host (kernels may run elsewhere than the server).
   * Resolves to `{status: "unknown", reason}` when the kernel cannot say in time; never rejects.
   */
  kernelHost(kernelId: string): Promise<KernelHostAnswer>;
}

export const IHostReportClient = new Token<IHostReportClient>(
  'jupyter-pyvariant:IHostReportClient',
  'Host reports: the Jupyter server host and each kernel host.'
);
