/**
 * Provisioning jobs outlive the dialog that started them. Each job is followed once, here: the
 * dialog watches it while it is open; once it was closed on a running job, a progress notification
 * shows the job until it ends (the notification area works in JupyterLab and Notebook 7 alike), and
 * its end is a toast. Reopening the dialog watches the running job again.
 */
import { Notification } from '@jupyterlab/apputils';

import { errorText } from './api';
import { activeJobs, cancelJob, followJob, IJob, IProvisionRequest, startProvisioning } from './jobs';
import { reduceJob } from './jobState';

export interface IBackgroundHooks {
  /** Make the new kernel visible to the application (refresh the kernel list); may throw. */
  publish: (kernelName: string) => Promise<void>;
  /** Open a notebook on a kernel that became ready while no dialog showed it. */
  open: (kernelName: string) => Promise<void>;
}

type Listener = (job: IJob) => void;

class Tracked {
  readonly listeners = new Set<Listener>();
  notification: string | null = null;
  ended: Promise<IJob>;

  constructor(
    public job: IJob,
    follow: (tracked: Tracked) => Promise<IJob>
  ) {
    this.ended = follow(this);
  }
}

export class ProvisioningJobs {
  private readonly _jobs = new Map<string, Tracked>();

  constructor(private readonly _hooks: IBackgroundHooks) {}

  /** Start provisioning on the server; the job is followed from now on, watched or not. */
  async start(request: IProvisionRequest): Promise<IJob> {
    const job = await startProvisioning(request);
    this._track(job);
    return job;
  }

  /** The job this page is following that still runs, else one the server runs (another tab's). */
  async running(): Promise<IJob | null> {
    for (const tracked of this._jobs.values()) {
      if (reduceJob(null, tracked.job).busy) {
        return tracked.job;
      }
    }
    const active = await activeJobs().catch(() => []);
    return active.length ? this._track(active[0]).job : null;
  }

  /**
   * Call `listener` with every snapshot of `job` (now with the latest); `ended` resolves as the job
   * ends, with its final snapshot once a new kernel is in the kernel list. A job that ended already
   * is followed again, to its end.
   */
  watch(job: IJob, listener: Listener): { ended: Promise<IJob>; stop: () => void } {
    const tracked = this._track(job);
    tracked.listeners.add(listener);
    listener(tracked.job);
    return {
      ended: tracked.ended,
      stop: () => {
        tracked.listeners.delete(listener);
        if (!tracked.listeners.size && !tracked.notification && reduceJob(null, tracked.job).busy) {
          this._showProgress(tracked);
        }
      }
    };
  }

  cancel(id: string): Promise<unknown> {
    return cancelJob(id);
  }

  private _track(job: IJob): Tracked {
    const known = this._jobs.get(job.id);
    if (known) {
      return known;
    }
    const tracked = new Tracked(job, t => this._follow(t));
    this._jobs.set(job.id, tracked);
    return tracked;
  }

  private async _follow(tracked: Tracked): Promise<IJob> {
    let final: IJob;
    try {
      final = await followJob(tracked.job, job => this._update(tracked, job));
      if (final.state === 'succeeded' && final.result) {
        await this._hooks.publish(final.result.kernel_name);
      }
    } catch (error) {
      final = { ...tracked.job, state: 'failed', error: errorText(error) };
      this._update(tracked, final);
    }
    this._jobs.delete(tracked.job.id);
    this._announce(tracked, final);
    return final;
  }

  private _update(tracked: Tracked, job: IJob): void {
    tracked.job = job;
    tracked.listeners.forEach(listener => listener(job));
    if (tracked.notification) {
      const view = reduceJob(null, job);
      Notification.update({
        id: tracked.notification,
        message: progressMessage(job),
        ...(view.fraction === null ? {} : { progress: view.fraction })
      });
    }
  }

  private _showProgress(tracked: Tracked): void {
    const view = reduceJob(null, tracked.job);
    tracked.notification = Notification.emit(progressMessage(tracked.job), 'in-progress', {
      autoClose: false,
      ...(view.fraction === null ? {} : { progress: view.fraction }),
      actions: [
        {
          label: 'Cancel',
          caption: 'Stop setting up this kernel; nothing is kept',
          displayType: 'warn',
          callback: () => void cancelJob(tracked.job.id).catch(() => undefined)
        }
      ]
    });
  }

  /**
   * The end of a job nobody watches: its progress notification turns into the result (or a new
   * toast says it); the dialog shows the end itself when it is open.
   */
  private _announce(tracked: Tracked, job: IJob): void {
    if (tracked.listeners.size && !tracked.notification) {
      return;
    }
    const name = kernelLabel(job);
    let message: string;
    let type: 'success' | 'error' | 'info';
    let actions: Notification.IAction[] = [];
    if (job.state === 'succeeded' && job.result) {
      const kernelName = job.result.kernel_name;
      message = `Kernel "${name}" is ready.`;
      type = 'success';
      actions = [{ label: 'Open a notebook', callback: () => void this._hooks.open(kernelName) }];
    } else if (job.state === 'failed') {
      message = `Setting up kernel "${name}" did not work: ${job.error ?? 'no reason given'}`;
      type = 'error';
    } else {
      message = `Setting up kernel "${name}" was cancelled; nothing was kept.`;
      type = 'info';
    }
    if (tracked.notification) {
      Notification.update({ id: tracked.notification, message, type, autoClose: false, actions });
      tracked.notification = null;
    } else if (type !== 'info') {
      Notification.emit(message, type, { autoClose: false, actions });
    }
  }
}

/** "Python 3.13 kernel: Downloading Python (42%)". */
function progressMessage(job: IJob): string {
  return `Setting up ${kernelLabel(job)}: ${reduceJob(null, job).words}`;
}

function kernelLabel(job: IJob): string {
  const result = job.result;
  if (result) {
    return result.display_name ?? result.kernel_name;
  }
  const { name, version } = job.request ?? {};
  return name ?? `Python ${version ?? ''}`.trim();
}
