import assert from 'node:assert/strict';
import { test } from 'node:test';

import { IJobSnapshot, IJobView, reduceJob } from '../src/jobState';

function snapshot(
  changes: Partial<IJobSnapshot> & { message?: string; done?: number; total?: number | null }
): IJobSnapshot {
  const { message = '', done = 0, total = null, ...rest } = changes;
  return { state: 'running', progress: { done, total, message }, error: null, ...rest };
}

function reduceAll(snapshots: IJobSnapshot[]): IJobView[] {
  const views: IJobView[] = [];
  for (const job of snapshots) {
    views.push(reduceJob(views.at(-1) ?? null, job));
  }
  return views;
}

test('a download shows its percentage, in words', () => {
  const [view] = reduceAll([snapshot({ message: 'download', done: 25, total: 100 })]);
  assert.equal(view.words, 'Downloading Python (25%)');
  assert.equal(view.fraction, 0.25);
  assert.ok(view.busy && !view.barHidden);
});

test('a step without a fraction keeps the bar where the same step left it, a new step moves', () => {
  const views = reduceAll([
    snapshot({ message: 'download', done: 50, total: 100 }),
    snapshot({ message: 'download' }),
    snapshot({ message: 'extract' })
  ]);
  assert.equal(views[1].fraction, null, 'the words changed with the percentage gone');
  assert.equal(views[2].words, 'Unpacking Python');
  assert.equal(views[2].fraction, null);
});

test('cancel and failure stop the bar and say it once; success fills it', () => {
  const running = snapshot({ message: 'download', done: 10, total: 100 });
  const [, cancelled] = reduceAll([running, snapshot({ state: 'cancelled', message: 'download' })]);
  assert.deepEqual(
    { busy: cancelled.busy, barHidden: cancelled.barHidden, fraction: cancelled.fraction },
    { busy: false, barHidden: true, fraction: null }
  );
  assert.equal(cancelled.words, 'Cancelled: nothing was kept.');
  const [, failed] = reduceAll([running, snapshot({ state: 'failed', error: 'the smoke test failed' })]);
  assert.equal(failed.words, 'It did not work: the smoke test failed');
  assert.ok(!failed.busy && failed.barHidden);
  const [, done] = reduceAll([running, snapshot({ state: 'succeeded', message: 'done' })]);
  assert.deepEqual([done.fraction, done.busy, done.words], [1, false, 'The kernel is ready.']);
});

test('a fraction outside 0..1 is clamped; server words not known are shown capitalised', () => {
  const [over] = reduceAll([snapshot({ message: 'download', done: 120, total: 100 })]);
  assert.equal(over.fraction, 1);
  const [other] = reduceAll([snapshot({ message: 'resolving packages' })]);
  assert.equal(other.words, 'Resolving packages');
});
