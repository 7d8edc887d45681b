/** The settings schema's level choices against the project's own list of CPU levels. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(__dirname, '../../..');

function json(path: string): any {
  return JSON.parse(readFileSync(resolve(ROOT, path), 'utf-8'));
}

test('the default-level choices are "auto" and the x86-64 levels, spelled as in the dialog', () => {
  const schema = json('labextension/schema/plugin.json');
  const ladder: Array<{ name: string }> = json('jupyter_pyvariant/host/data/cpu_levels.json').feature_ladders
    .x86_64.levels;
  // The dialog's level choices carry the server's short spelling: x86-64-v3 is v3.
  const flags = ladder.map(level => level.name.replace(/^x86-64-/, ''));
  assert.deepEqual(schema.properties.defaultLevel.enum, ['auto', ...flags]);
});

test('every setting has a title and one description, and the schema forbids unknown keys', () => {
  const schema = json('labextension/schema/plugin.json');
  assert.equal(schema.additionalProperties, false);
  for (const [name, property] of Object.entries<Record<string, unknown>>(schema.properties)) {
    assert.equal(typeof property.title, 'string', `${name} has a title`);
    assert.equal(typeof property.description, 'string', `${name} has a description`);
    assert.ok(!String(property.description).includes(String(property.title)), `${name}: said once`);
  }
});

test("a list setting's description is said once: the stylesheet hides the settings editor's second copy", () => {
  const schema = json('labextension/schema/plugin.json');
  const lists = Object.entries<Record<string, unknown>>(schema.properties).filter(
    ([, p]) => p.type === 'array'
  );
  assert.deepEqual(
    lists.map(([name]) => name),
    ['indexUrls', 'trustedProviders']
  );
  // JupyterLab's form puts an array's description under its title and again below the list; the
  // rule is scoped to this plugin's form, whose id is the settings editor's prefix and the plugin id.
  const plugin = `${json('labextension/package.json').name}:plugin`;
  const css = readFileSync(resolve(ROOT, 'labextension/style/base.css'), 'utf-8').replace(/\s+/g, ' ');
  assert.ok(
    css.includes(
      `fieldset[id='jp-SettingsEditor-${plugin}'] .jp-arrayFieldWrapper + .jp-FormGroup-description { display: none; }`
    ),
    'the rule that hides the second description'
  );
});
