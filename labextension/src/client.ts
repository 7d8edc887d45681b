/**
 * Host reports over REST: the server host's (fetched once per page load) and each kernel's own
 * (asked from inside the kernel, once per kernel).
 */
import { requestAPI } from './api';
import { IHostReport, isUnknown, IUnknownKernelHost, KernelHostAnswer } from './hostReport';
import { IHostReportClient } from './tokens';

/** How long the kernel may take to answer, as the server counts it (`?timeout=`). */
export const KERNEL_ANSWER_SECONDS = 10;
/** The browser gives up a little later, so a stuck server never leaves the UI waiting. */
const BROWSER_GRACE_SECONDS = 5;

export class HostReportClient implements IHostReportClient {
  private _pending: Promise<IHostReport> | null = null;
  private readonly _kernels = new Map<string, Promise<KernelHostAnswer>>();

  serverHost(): Promise<IHostReport> {
    return this._pending ?? this.refresh();
  }

  refresh(): Promise<IHostReport> {
    const pending = requestAPI<IHostReport>('host');
    // A failed fetch must not stay cached: the next caller tries again.
    pending.catch(() => {
      if (this._pending === pending) {
        this._pending = null;
      }
    });
    this._pending = pending;
    return pending;
  }

  kernelHost(kernelId: string): Promise<KernelHostAnswer> {
    const cached = this._kernels.get(kernelId);
    if (cached) {
      return cached;
    }
    const pending = askKernel(kernelId);
    this._kernels.set(kernelId, pending);
    // Only real reports stay cached: an "unknown" is asked again next time.
    void pending.then(answer => {
      if (isUnknown(answer) && this._kernels.get(kernelId) === pending) {
        this._kernels.delete(kernelId);
      }
    });
    return pending;
  }
}

/** The kernel's own report, or "unknown" with the reason; never rejects, never hangs. */
async function askKernel(kernelId: string): Promise<KernelHostAnswer> {
  const limit = KERNEL_ANSWER_SECONDS + BROWSER_GRACE_SECONDS;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), limit * 1000);
  try {
    return await requestAPI<KernelHostAnswer>(
      `host/kernel/${encodeURIComponent(kernelId)}?timeout=${KERNEL_ANSWER_SECONDS}`,
      { signal: abort.signal }
    );
  } catch (error) {
    return unknown(
      abort.signal.aborted
        ? `the server did not answer within ${limit} s`
        : `the kernel's report is unavailable: ${error instanceof Error ? error.message : String(error)}`
    );
  } finally {
    clearTimeout(timer);
  }
}

function unknown(reason: string): IUnknownKernelHost {
  return { scope: 'kernel-host', status: 'unknown', reason };
}
