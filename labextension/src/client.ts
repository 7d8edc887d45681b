/** The server host's report, fetched over REST once per page load. */
import { requestAPI } from './api';
import { IHostReport } from './hostReport';
import { IHostReportClient } from './tokens';

export class HostReportClient implements IHostReportClient {
  private _pending: Promise<IHostReport> | null = null;

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
}
