/**
 * The launcher's "Optimized Python" section: the provisioning entry, then one card per kernel this
 * project provisioned, captioned with its build (level, optimizations, packages). It is rebuilt
 * whenever the kernel list changes.
 */
import { ILauncher } from '@jupyterlab/launcher';
import { KernelSpec } from '@jupyterlab/services';
import { IDisposable } from '@lumino/disposable';

import { pyvariantMetadata } from './kernelPicker';

export const LAUNCHER_CATEGORY = 'Optimized Python';

export function addLauncherSection(
  launcher: ILauncher,
  specs: KernelSpec.IManager,
  commands: { provision: string; openKernel: string }
): void {
  launcher.add({ command: commands.provision, category: LAUNCHER_CATEGORY, rank: 0 });
  let cards: IDisposable[] = [];
  const update = (): void => {
    cards.forEach(card => card.dispose());
    const provisioned = Object.values(specs.specs?.kernelspecs ?? {})
      .filter((spec): spec is KernelSpec.ISpecModel => !!spec && !!pyvariantMetadata(spec))
      .sort((a, b) => a.display_name.localeCompare(b.display_name));
    cards = provisioned.map((spec, index) =>
      launcher.add({
        command: commands.openKernel,
        args: { kernelName: spec.name, isLauncher: true },
        category: LAUNCHER_CATEGORY,
        rank: index + 1,
        kernelIconUrl: spec.resources['logo-svg'] || spec.resources['logo-64x64']
      })
    );
  };
  specs.specsChanged.connect(update);
  update();
}
