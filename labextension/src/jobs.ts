/**
 * Provisioning kernels through the server: the request, the background job it starts, and the
 * polling that turns the job into progress updates.
 */
import { requestAPI } from './api';

/** Body of `POST kernels`; `mirror`, `index_url` and `trusted_providers` come from the settings. */
export interface IProvisionRequest {
  version: string;
  level: string;
  freethreaded: boolean;
  packages: string[];
  name?: string;
  display_name?: string;
  mirror?: string;
  index_url?: string[];
  trusted_providers?: string[];
}

export type JobState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface IJob {
  id: string;
  kind: string;
  state: JobState;
  progress: { done: number; total: number | null; message: string };
  log: string[];
  result: { kernel_name: string; display_name?: string; [key: string]: unknown } | null;
  error: string | null;
  created: string;
  finished: string | null;
}

/** A build that fits this host, as `GET pythons` lists them (best first). */
export interface IPythonBuild {
  version: string;
  release: string;
  triple: string;
  flavour: string;
  level: string | null;
  url: string;
  installed: boolean;
}

export interface IPythons {
  host: { isa_level: string; arch: string; libc: string };
  builds: IPythonBuild[];
  best: IPythonBuild | null;
  explain: string[];
}

const FINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled']);
const POLL_MS = 500;
/** Consecutive failed polls tolerated (a server restart, a dropped connection) before giving up. */
const POLL_FAILURES_TOLERATED = 5;

export function isFinal(job: IJob): boolean {
  return FINAL_STATES.has(job.state);
}

export async function startProvisioning(request: IProvisionRequest): Promise<IJob> {
  const answer = await requestAPI<{ job: IJob }>('kernels', {
    method: 'POST',
    body: JSON.stringify(request)
  });
  return answer.job;
}

export function cancelJob(id: string): Promise<unknown> {
  return requestAPI<unknown>(`jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

export function fetchPythons(): Promise<IPythons> {
  return requestAPI<IPythons>('pythons?all=1');
}

/**
 * Poll `jobs/{id}` until the job ends, reporting every state seen; resolves with the final job.
 * A few failed polls in a row are tolerated (a dropped connection); more reject with the last error.
 */
export async function followJob(job: IJob, onUpdate: (job: IJob) => void): Promise<IJob> {
  let failures = 0;
  let current = job;
  onUpdate(current);
  while (!isFinal(current)) {
    await new Promise(resolve => setTimeout(resolve, POLL_MS));
    try {
      current = await requestAPI<IJob>(`jobs/${encodeURIComponent(current.id)}`);
      failures = 0;
      onUpdate(current);
    } catch (error) {
      if (++failures > POLL_FAILURES_TOLERATED) {
        throw error;
      }
    }
  }
  return current;
}
