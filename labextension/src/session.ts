/** The kernel side of the main area: which session a widget runs, and which kernels exist. */
import { ISessionContext } from '@jupyterlab/apputils';
import { KernelSpec } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

/** The session of a widget that runs code in a kernel (a notebook, a console), else null. */
export function sessionContextOf(widget: Widget | null): ISessionContext | null {
  const candidate = (widget as { sessionContext?: ISessionContext } | null)?.sessionContext;
  return candidate && typeof candidate.kernelChanged?.connect === 'function' ? candidate : null;
}

/**
 * Ask the server for the kernel list now (the application would otherwise wait for its next
 * 61 s poll) and say whether kernel `name` is in it.
 */
export async function refreshAndFind(specs: KernelSpec.IManager, name: string): Promise<boolean> {
  await specs.refreshSpecs();
  return !!specs.specs?.kernelspecs[name];
}
