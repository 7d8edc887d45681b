/**
 * User settings (Settings Editor → "Python variants"): where interpreters and packages come from,
 * which variant providers are trusted, and the level the provisioning dialog preselects.
 */
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { IProvisionRequest } from './jobs';

/** The plugin whose schema (`schema/plugin.json`) holds the settings. */
export const SETTINGS_PLUGIN_ID = 'jupyter-pyvariant:plugin';

export interface ISettingsValues {
  /** python-build-standalone mirror (replaces the public release download prefix). */
  mirror: string;
  /** Package indexes for the packages added to a new kernel, the first one primary. */
  indexUrls: string[];
  /** Variant provider plugins allowed to run when choosing package variants. */
  trustedProviders: string[];
  /** "auto" (the host's own level) or v1..v4. */
  defaultLevel: string;
}

export const DEFAULT_SETTINGS: ISettingsValues = {
  mirror: '',
  indexUrls: [],
  trustedProviders: [],
  defaultLevel: 'auto'
};

/** Current values, following every change the user makes in the settings editor. */
export class PyvariantSettings {
  private _values: ISettingsValues = DEFAULT_SETTINGS;

  get values(): ISettingsValues {
    return this._values;
  }

  /** Follow `settings` from now on (called once the registry has loaded them). */
  track(settings: ISettingRegistry.ISettings): void {
    const read = (): void => {
      this._values = { ...DEFAULT_SETTINGS, ...(settings.composite as Partial<ISettingsValues>) };
    };
    read();
    settings.changed.connect(read);
  }
}

/** The optional `POST kernels` keys the settings fill in; unset settings send nothing. */
export function requestExtras(values: ISettingsValues): Partial<IProvisionRequest> {
  const extras: Partial<IProvisionRequest> = {};
  if (values.mirror.trim()) {
    extras.mirror = values.mirror.trim();
  }
  const indexes = values.indexUrls.map(url => url.trim()).filter(Boolean);
  if (indexes.length) {
    extras.index_url = indexes;
  }
  const providers = values.trustedProviders.map(name => name.trim()).filter(Boolean);
  if (providers.length) {
    extras.trusted_providers = providers;
  }
  return extras;
}
