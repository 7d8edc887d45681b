import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ILauncher } from '@jupyterlab/launcher';

import { addLauncherEntry, isProvisionedConsole } from '../src/launcher';

const provisioned = { kernel: { pyvariant: { version: '3.11.7', level: 'x86-64-v4' } } };

/** The launcher's model as far as the entry uses it: it adds cards and lists them. */
class FakeLauncher {
  readonly cards: ILauncher.IItemOptions[] = [];

  add(options: ILauncher.IItemOptions): { dispose: () => void; isDisposed: boolean } {
    this.cards.push(options);
    return { dispose: () => undefined, isDisposed: false };
  }

  items(): IterableIterator<ILauncher.IItemOptions> {
    return this.cards[Symbol.iterator]();
  }
}

test('a provisioned kernel’s Console card is left out; its Notebook card and other consoles stay', () => {
  const launcher = new FakeLauncher();
  addLauncherEntry(launcher as unknown as ILauncher, 'pyvariant:provision-kernel', 'Notebook', 'data:,');
  launcher.add({ command: 'notebook:create-new', category: 'Notebook', metadata: provisioned });
  launcher.add({ command: 'console:create', category: 'Console', metadata: provisioned });
  launcher.add({ command: 'console:create', category: 'Console', metadata: { kernel: {} } });
  const listed = [...launcher.items()];
  assert.deepEqual(
    listed.map(card => [card.command, card.category]),
    [
      ['pyvariant:provision-kernel', 'Notebook'],
      ['notebook:create-new', 'Notebook'],
      ['console:create', 'Console']
    ]
  );
  assert.equal(listed[0].kernelIconUrl, 'data:,');
  assert.deepEqual(listed[0].args, { isLauncher: true });
});

test('only a Console card whose kernel carries build facts counts as a provisioned console', () => {
  assert.ok(isProvisionedConsole({ command: 'console:create', metadata: provisioned }));
  assert.ok(!isProvisionedConsole({ command: 'notebook:create-new', metadata: provisioned }));
  assert.ok(!isProvisionedConsole({ command: 'console:create' }));
  assert.ok(!isProvisionedConsole({ command: 'console:create', metadata: { kernel: ['pyvariant'] } }));
});
