/**
 * The kernel already here that the provisioning dialog tells about before anything is made: the one
 * holding the name typed, else one of the same build (when the name is the server's own). A per-node
 * kernel (one kernelspec that picks the best build on each machine it starts on) is never "the same
 * build": it is said as what it is. Pure functions, for unit tests.
 */
import type { IKernelEntry } from './jobs';
import { levelFlag, minorOf } from './kernelNames';

/** What the dialog is about to make, as its fields say. */
export interface IWanted {
  name: string;
  /** The server's own name for the build (empty while the version is not one). */
  suggested: string;
  minor: string;
  freethreaded: boolean;
  /** The level flag (`v3`), or empty for a build without one. */
  level: string;
}

export interface IExisting {
  kernel: IKernelEntry;
  /** It holds the name typed (else it was found by its build). */
  taken: boolean;
  /** One interpreter of the build asked for (not a per-node kernel, not another build). */
  sameBuild: boolean;
}

function isSameBuild(kernel: IKernelEntry, wanted: IWanted): boolean {
  return (
    !kernel.provisioned &&
    minorOf(kernel.version ?? '') === wanted.minor &&
    kernel.freethreaded === wanted.freethreaded &&
    levelFlag(kernel.level) === wanted.level
  );
}

export function findExisting(kernels: IKernelEntry[], wanted: IWanted): IExisting | null {
  const named = kernels.find(k => k.name === wanted.name);
  if (named) {
    return { kernel: named, taken: true, sameBuild: isSameBuild(named, wanted) };
  }
  const built = wanted.name === wanted.suggested ? kernels.find(k => isSameBuild(k, wanted)) : undefined;
  return built ? { kernel: built, taken: false, sameBuild: true } : null;
}

/** The line under the name field and the notice's words. */
export function existingWords({ kernel, taken, sameBuild }: IExisting): { problem: string; notice: string } {
  const problem = sameBuild
    ? 'This build is a kernel already: use it (below), or type another name here.'
    : 'A kernel has this name already: use it (below), or type another name here.';
  const what = kernel.provisioned
    ? `Python ${minorOf(kernel.version ?? '')} that uses, on each machine it starts on, the build that suits that machine best`
    : `Python ${kernel.version ?? '?'} built for ${kernel.level ?? 'any CPU'}`;
  const notice = `"${kernel.display_name}" is already a kernel here${taken ? '' : ` (named ${kernel.name})`}: ${what}.`;
  return { problem, notice };
}
