import assert from 'node:assert/strict';
import { test } from 'node:test';

import { existingWords, findExisting } from '../src/existingKernel';
import type { IKernelEntry } from '../src/jobs';
import { reduceJob } from '../src/jobState';
import { defaultName, levelFlag, nameProblem } from '../src/kernelNames';

test('kernel names follow the server rule, checked on the lower-cased name', () => {
  assert.equal(nameProblem('pyvariant-3.13-v4'), null);
  assert.equal(nameProblem('My.Kernel_2'), null, 'the server lower-cases names');
  assert.match(nameProblem('Bad Name!') ?? '', /letters, digits/);
  assert.match(nameProblem('-flag') ?? '', /starting with a letter or a digit/);
  assert.match(nameProblem('  ') ?? '', /Type a name/);
  assert.match(nameProblem('a'.repeat(256)) ?? '', /at most 255/);
});

test('the default name is the one the server gives: version, t for free-threaded, x86-64 level', () => {
  assert.equal(defaultName('3.13', false, levelFlag('x86-64-v3')), 'pyvariant-3.13-v3');
  assert.equal(defaultName('3.14', true, 'v4'), 'pyvariant-3.14t-v4');
  assert.equal(defaultName('3.12', false, levelFlag('armv8.2-a')), 'pyvariant-3.12');
  assert.equal(defaultName('3.12', false, levelFlag(null)), 'pyvariant-3.12');
});

test('a retry and a wait are said as they happen, the bar kept where it was', () => {
  const downloading = reduceJob(null, {
    state: 'running',
    progress: { done: 40, total: 100, message: 'download' },
    error: null
  });
  const retrying = reduceJob(downloading, {
    state: 'running',
    progress: { done: 40, total: 100, message: 'retrying the download (2 of 5) after a dropped connection…' },
    error: null
  });
  assert.equal(retrying.words, 'Retrying the download (2 of 5) after a dropped connection… (40%)');
  assert.equal(retrying.fraction, 0.4);
  const waiting = reduceJob(null, {
    state: 'pending',
    progress: { done: 0, total: null, message: 'waiting for the kernel being set up before it' },
    error: null
  });
  assert.equal(waiting.words, 'Waiting for the kernel being set up before this one');
  assert.ok(waiting.busy && waiting.fraction === null);
});

test("the kernel's own steps are said in words, not as file and folder names", () => {
  const words = (message: string): string =>
    reduceJob(null, { state: 'running', progress: { done: 0, total: null, message }, error: null }).words;
  assert.equal(
    words('interpreter: cpython-3.13.5+20250612-x86_64_v3-unknown-linux-gnu-install_only_stripped.tar.gz'),
    'Getting Python ready'
  );
  assert.equal(words('venv for CPython 3.13.5 (x86-64-v3)'), "Making the kernel's environment");
  assert.equal(words('installing ipykernel with uv'), 'Installing what a kernel needs');
  assert.equal(words('writing kernelspec pyvariant-3.13-v3'), 'Adding the kernel to the kernel list');
});

function kernel(name: string, provisioned: boolean): IKernelEntry {
  return {
    name,
    display_name: provisioned
      ? 'Python 3.13 · best level per node · PGO+LTO'
      : 'Python 3.13 · x86-64-v3 · PGO+LTO',
    python: `/k/${name}/bin/python`,
    usable: true,
    level: 'x86-64-v3',
    flavour: 'pgo+lto',
    version: '3.13.5',
    freethreaded: false,
    warnings: [],
    provisioned
  };
}

const WANTED = {
  name: 'pyvariant-3.13-v3',
  suggested: 'pyvariant-3.13-v3',
  minor: '3.13',
  freethreaded: false,
  level: 'v3'
};

test('a per-node kernel is not the build the dialog is about to make', () => {
  // Its metadata has the level of the machine it was made on, as a kernel of that one build has.
  assert.equal(findExisting([kernel('cluster-3.13', true)], WANTED), null);
  const single = findExisting([kernel('cluster-3.13', true), kernel('mine', false)], WANTED);
  assert.equal(single?.kernel.name, 'mine');
  assert.ok(single?.sameBuild && !single.taken);
  assert.match(existingWords(single).notice, /\(named mine\): Python 3\.13\.5 built for x86-64-v3\./);
});

test('a per-node kernel holding the name is said as what it is, not as this build', () => {
  const held = findExisting([kernel('pyvariant-3.13-v3', true)], WANTED);
  assert.ok(held && held.taken && !held.sameBuild);
  const { problem, notice } = existingWords(held);
  assert.match(problem, /^A kernel has this name already/);
  assert.doesNotMatch(`${problem} ${notice}`, /This build is a kernel already|built for/);
  assert.match(notice, /on each machine it starts on, the build that suits that machine best/);
});
