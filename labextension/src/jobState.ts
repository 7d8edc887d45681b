/**
 * What a provisioning job looks like to a person: the job's snapshots from the server reduced to one
 * view (bar, words, whether it is still working). Pure functions only, so the dialog, the
 * notification and the tests all read the same states.
 */

/** The states of a server job, as `GET jobs/{id}` spells them. */
export type JobState = 'pending' | 'running' | 'succeeded' | 'failed' | 'cancelled';

/** The part of a job snapshot the view is made from. */
export interface IJobSnapshot {
  state: JobState;
  progress: { done: number; total: number | null; message: string };
  error: string | null;
}

export interface IJobView {
  state: JobState;
  /** Still working: the cancel button shows, the fields are locked. */
  busy: boolean;
  /** 0..1 for a determinate bar, null for a moving (indeterminate) one; only while busy. */
  fraction: number | null;
  /** No bar at all: the job ended without a kernel. */
  barHidden: boolean;
  /** One line in a data scientist's words (the percentage included). */
  words: string;
}

const FINAL: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled']);

export function isFinalState(state: JobState): boolean {
  return FINAL.has(state);
}

/**
 * The server's step names and messages, in words (the exact message stays in the tooltip and the
 * details); anything else is shown as the server wrote it.
 */
const WORDS: ReadonlyArray<[RegExp, string]> = [
  [/^waiting for/, 'Waiting for the kernel being set up before this one'],
  [/^starting$/, 'Starting'],
  [/^interpreter: /, 'Getting Python ready'],
  [/^download$/, 'Downloading Python'],
  [/^extract$/, 'Unpacking Python'],
  [/^smoke-test$/, 'Checking that the new Python runs'],
  [/^removed .* interrupted install$/, 'Clearing what an interrupted setup left behind'],
  [/^venv for /, "Making the kernel's environment"],
  [/^installing ipykernel/, 'Installing what a kernel needs'],
  [/^writing kernelspec /, 'Adding the kernel to the kernel list'],
  [/^done$/, 'Ready']
];

/** A step's words: the server's message, with its step names said plainly and a capital first. */
export function stepWords(message: string): string {
  const text = message.trim();
  for (const [pattern, words] of WORDS) {
    if (pattern.test(text)) {
      return words;
    }
  }
  return text ? text[0].toUpperCase() + text.slice(1) : '';
}

/** The words a final state ends on (said once: the error line does not repeat them). */
export function finalWords(job: IJobSnapshot): string {
  switch (job.state) {
    case 'succeeded':
      return 'The kernel is ready.';
    case 'cancelled':
      return 'Cancelled: nothing was kept.';
    default:
      return job.error ? `It did not work: ${job.error}` : 'It did not work, and nothing was kept.';
  }
}

/**
 * The view of `job`, given the view before it (or null). A bar that knew its fraction keeps it while
 * the next step has none yet, so it does not jump back to a moving bar for a moment.
 */
export function reduceJob(previous: IJobView | null, job: IJobSnapshot): IJobView {
  if (isFinalState(job.state)) {
    return {
      state: job.state,
      busy: false,
      fraction: job.state === 'succeeded' ? 1 : null,
      barHidden: job.state !== 'succeeded',
      words: finalWords(job)
    };
  }
  const { done, total, message } = job.progress;
  const fraction = total ? Math.min(Math.max(done / total, 0), 1) : null;
  const words = stepWords(message);
  return {
    state: job.state,
    busy: true,
    fraction: fraction ?? (words && previous?.words === words ? previous.fraction : null),
    barHidden: false,
    words: fraction === null ? words : `${words} (${Math.round(100 * fraction)}%)`
  };
}
