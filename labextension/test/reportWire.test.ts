/** The front end's types of the host report against the report's JSON Schema. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';

import { HOST_REPORT_WIRE, IWireField, JsonType } from '../src/reportWire';

interface ISchema {
  type?: JsonType | JsonType[];
  enum?: unknown[];
  const?: unknown;
  $ref?: string;
  properties?: Record<string, ISchema>;
  required?: string[];
  items?: ISchema;
}

const SCHEMA_PATH = resolve(__dirname, '../../../jupyter_pyvariant/host/data/host-report.schema.json');
const ROOT = JSON.parse(readFileSync(SCHEMA_PATH, 'utf-8')) as ISchema & { $defs?: Record<string, ISchema> };

function deref(schema: ISchema): ISchema {
  if (!schema.$ref) {
    return schema;
  }
  const name = schema.$ref.replace(/^#\/\$defs\//, '');
  const target = ROOT.$defs?.[name];
  assert.ok(target, `unresolved $ref ${schema.$ref}`);
  return deref(target);
}

function jsonTypeOf(value: unknown): JsonType {
  if (value === null) {
    return 'null';
  }
  if (Array.isArray(value)) {
    return 'array';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? 'integer' : 'number';
  }
  return typeof value as JsonType;
}

/** The JSON types a schema node allows; null when it does not constrain the type. */
function schemaTypes(schema: ISchema): Set<JsonType> | null {
  if (schema.type !== undefined) {
    return new Set(Array.isArray(schema.type) ? schema.type : [schema.type]);
  }
  if (schema.enum) {
    return new Set(schema.enum.map(jsonTypeOf));
  }
  if ('const' in schema) {
    return new Set([jsonTypeOf(schema.const)]);
  }
  return null;
}

/** The schema node of `path` and whether its parent requires it; undefined where none describes it. */
function lookup(path: string): { node: ISchema; required: boolean } | undefined {
  let node: ISchema = ROOT;
  let required = true;
  for (const step of path.split('.')) {
    const [key, ...arrays] = step.split('[]');
    node = deref(node);
    const child = node.properties?.[key];
    if (!child) {
      return undefined;
    }
    required = (node.required ?? []).includes(key);
    node = deref(child);
    for (let depth = 0; depth < arrays.length; depth++) {
      assert.ok(node.items, `${path}: ${key} has no items schema`);
      node = deref(node.items);
    }
  }
  return { node, required };
}

function accepts(field: IWireField, type: JsonType): boolean {
  return field.json.includes(type) || (type === 'integer' && field.json.includes('number'));
}

for (const [path, field] of Object.entries(HOST_REPORT_WIRE) as Array<[string, IWireField]>) {
  test(`host report field ${path} has the schema's types`, () => {
    const found = lookup(path);
    assert.ok(found, `${path} is not in ${SCHEMA_PATH}`);
    const allowed = schemaTypes(found.node);
    assert.ok(allowed, `${path}: the schema does not constrain its type`);
    const unaccepted = [...allowed].filter(type => !accepts(field, type));
    assert.deepEqual(unaccepted, [], `${path}: the schema allows types the front end's type does not`);
    if (!field.optional) {
      assert.ok(found.required, `${path}: the front end needs it, the schema does not require it`);
    }
  });
}

test('every path of the schema the front end types is listed once', () => {
  const paths = Object.keys(HOST_REPORT_WIRE);
  assert.equal(new Set(paths).size, paths.length);
  assert.ok(paths.includes('cpu.isa_level') && paths.includes('recommendations.better_kernel'));
});
