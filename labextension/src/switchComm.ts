/**
 * The `pyvariant` comm: how `%pyvariant kernel switch NAME` in a kernel moves its notebook to
 * another kernel. Only the frontend can do that, and only for the notebook the kernel serves.
 *
 * Both directions of the comm are served:
 * - the frontend registers the target `pyvariant` on every kernel connection, for comms the kernel
 *   opens itself (carrying a switch request, or opened to announce itself);
 * - the frontend opens a comm to kernels launched with the extension (provisioned kernels, whose
 *   kernelspec carries `metadata.pyvariant`) and says `{"action": "hello"}`, so the kernel knows a
 *   frontend that can switch is listening and sends its requests there.
 *
 * A request is `{"action": "switch", "kernel_name": NAME, "request_id": ID}`; the reply on the same
 * comm is `{"status": "ok" | "error", "message", "request_id": ID}`, which the cell that asked waits
 * for and prints (a wrong name is reported there). "ok" is sent before the switch starts, because
 * switching shuts down the kernel that asked; the switch itself waits until that kernel is idle, so
 * the cell that asked finishes and its output reaches the notebook first.
 */
import { ISessionContext } from '@jupyterlab/apputils';
import { Kernel, KernelMessage } from '@jupyterlab/services';
import { JSONObject } from '@lumino/coreutils';

import { errorText } from './api';
import { pyvariantMetadata } from './kernelPicker';

export const COMM_TARGET = 'pyvariant';

export interface ISwitchReply extends JSONObject {
  status: 'ok' | 'error';
  message: string;
  /** The request's own id, so the kernel knows which request this answers. */
  request_id: string | null;
}

/** Makes kernel `name` visible (refreshes the kernel list) and says whether it exists. */
export type KernelLookup = (name: string) => Promise<boolean>;

/** The notebook (or console) whose kernels may ask, and how to check and report a switch. */
export interface ISwitchTarget {
  sessionContext: ISessionContext;
  lookup: KernelLookup;
  /** Hears about a switch that failed after "ok" was already sent. */
  onSwitchFailed: (message: string) => void;
}

/** Serve switch requests for the kernels of `target`, the current one and every later one. */
export function serveSwitchRequests(target: ISwitchTarget): void {
  const connect = (kernel: Kernel.IKernelConnection | null | undefined): void => {
    if (!kernel) {
      return;
    }
    // Never awaited: the kernel connection handles its messages one at a time, and a switch
    // waits for a later one (the kernel going idle).
    const serve = (comm: Kernel.IComm): void => {
      comm.onMsg = msg => void answer(kernel, comm, msg, target);
    };
    kernel.registerCommTarget(COMM_TARGET, (comm, msg) => {
      serve(comm);
      void answer(kernel, comm, msg, target);
    });
    void announce(kernel, serve);
  };
  const { sessionContext } = target;
  connect(sessionContext.session?.kernel);
  sessionContext.kernelChanged.connect((_, change) => connect(change.newValue));
}

/** Open the hello comm to a kernel that registers the target, now and after every restart. */
async function announce(
  kernel: Kernel.IKernelConnection,
  serve: (comm: Kernel.IComm) => void
): Promise<void> {
  const spec = await kernel.spec;
  if (!pyvariantMetadata(spec) || kernel.isDisposed) {
    return;
  }
  const hello = (): void => {
    const comm = kernel.createComm(COMM_TARGET);
    serve(comm);
    comm.open({ action: 'hello' });
  };
  let restarting = false;
  kernel.statusChanged.connect((_, status) => {
    if (status === 'restarting' || status === 'autorestarting') {
      restarting = true;
    } else if (restarting && status === 'idle') {
      restarting = false;
      hello();
    }
  });
  await kernel.info;
  if (!kernel.isDisposed) {
    hello();
  }
}

async function answer(
  kernel: Kernel.IKernelConnection,
  comm: Kernel.IComm,
  msg: KernelMessage.ICommOpenMsg | KernelMessage.ICommMsgMsg,
  { sessionContext, lookup, onSwitchFailed }: ISwitchTarget
): Promise<void> {
  const data = msg.content.data as { action?: unknown; kernel_name?: unknown; request_id?: unknown };
  if (data.action !== 'switch') {
    return; // "hello" from the kernel, or something newer than this frontend: nothing to do.
  }
  const name = data.kernel_name;
  const requestId = typeof data.request_id === 'string' ? data.request_id : null;
  const reply = (status: ISwitchReply['status'], message: string): void => {
    if (!comm.isDisposed) {
      const answer: ISwitchReply = { status, message, request_id: requestId };
      comm.send(answer);
    }
  };
  if (typeof name !== 'string' || !name) {
    reply('error', 'a switch request needs "kernel_name", the name of a kernelspec');
    return;
  }
  if (!(await lookup(name))) {
    reply('error', `there is no kernel named "${name}" (Change Kernel… lists the kernels you can use)`);
    return;
  }
  reply('ok', `switching "${sessionContext.name}" to kernel "${name}" once this cell has run`);
  try {
    await idle(kernel);
    await sessionContext.changeKernel({ name });
  } catch (error) {
    const message = `switching "${sessionContext.name}" to kernel "${name}" failed: ${errorText(error)}`;
    reply('error', message);
    onSwitchFailed(message);
  }
}

/** Resolves once `kernel` has nothing left to run (or is gone). */
function idle(kernel: Kernel.IKernelConnection): Promise<void> {
  return new Promise(resolve => {
    const check = (): void => {
      if (kernel.isDisposed || kernel.status === 'idle' || kernel.status === 'dead') {
        kernel.statusChanged.disconnect(check);
        resolve();
      }
    };
    kernel.statusChanged.connect(check);
    check();
  });
}
