/**
 * Provisioning kernels through the server: the request, the background job it starts, and the
 * polling that turns the job into progress updates.
 */
import { requestAPI } from './api';
import { IJobSnapshot, isFinalState, JobState } from './jobState';

export type { JobState } from './jobState';

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

export interface IJob extends IJobSnapshot {
  id: string;
  kind: string;
  state: JobState;
  request: Partial<IProvisionRequest>;
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

/** A provisioned kernel as `GET kernels` lists it: the build facts checked when it was made. */
export interface IKernelEntry {
  name: string;
  display_name: string;
  python: string;
  usable: boolean;
  level: string | null;
  flavour: string | null;
  version: string | null;
  freethreaded: boolean;
  warnings: string[];
  /** The kernel starts through the per-node provisioner: it picks a build on each machine. */
  provisioned: boolean;
}

export interface IPythons {
  host: { isa_level: string; arch: string; libc: string };
  builds: IPythonBuild[];
  best: IPythonBuild | null;
  explain: string[];
}

const POLL_MS = 500;
/** Consecutive failed polls tolerated (a server restart, a dropped connection) before giving up. */
const POLL_FAILURES_TOLERATED = 5;

export function isFinal(job: IJob): boolean {
  return isFinalState(job.state);
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

export async function fetchKernels(): Promise<IKernelEntry[]> {
  return (await requestAPI<{ kernels: IKernelEntry[] }>('kernels')).kernels;
}

/** Remove a provisioned kernel: its kernelspec and its environment (running kernels keep running). */
export function removeKernel(name: string): Promise<unknown> {
  return requestAPI<unknown>(`kernels/${encodeURIComponent(name)}`, { method: 'DELETE' });
}

/** The provisioning jobs still pending or running on the server (started here or in another tab). */
export async function activeJobs(): Promise<IJob[]> {
  const { jobs } = await requestAPI<{ jobs: IJob[] }>('jobs');
  return jobs.filter(job => !isFinal(job));
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
