/**
 * The host report's fields as the front end types them, in a form a test can hold against the
 * report's JSON Schema (`jupyter_pyvariant/host/data/host-report.schema.json`, the server's
 * contract): each field's path, the JSON types its TypeScript type accepts, and whether it may be
 * absent. The compiler keeps this table in step with `IHostReport`: every field is listed, none
 * twice, and no JSON type is claimed that the TypeScript type would not accept.
 */
import { IHostReport } from './hostReport';

export type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'array' | 'object';

/** The JSON types a TypeScript type accepts (`unknown`: all of them). */
type JsonTypesOf<T> = T extends string
  ? 'string'
  : T extends number
    ? 'number' | 'integer'
    : T extends boolean
      ? 'boolean'
      : T extends null
        ? 'null'
        : T extends ReadonlyArray<unknown>
          ? 'array'
          : T extends object
            ? 'object'
            : JsonType;

/** One field: its dotted path (`[]` for an array's items), its type, and whether it is optional. */
type Entries<T, P extends string = ''> = {
  [K in keyof T & string]-?:
    | { path: `${P}${K}`; type: T[K]; optional: object extends Pick<T, K> ? true : false }
    | Inner<Exclude<T[K], undefined | null>, `${P}${K}`>;
}[keyof T & string];

type Inner<V, P extends string> =
  V extends ReadonlyArray<infer E>
    ? E extends object
      ? Entries<E, `${P}[].`>
      : never
    : V extends object
      ? Entries<V, `${P}.`>
      : never;

export interface IWireField<J extends JsonType = JsonType, O extends boolean = boolean> {
  json: readonly J[];
  optional: O;
}

export type WireTable = {
  [E in Entries<IHostReport> as E['path']]: IWireField<
    JsonTypesOf<Exclude<E['type'], undefined>>,
    E['optional']
  >;
};

const STRING = ['string'] as const;
const NUMBER_OR_NULL = ['number', 'integer', 'null'] as const;
const STRING_OR_NULL = ['string', 'null'] as const;

export const HOST_REPORT_WIRE: WireTable = {
  schema_version: { json: STRING, optional: false },
  scope: { json: STRING, optional: false },
  cpu: { json: ['object'], optional: false },
  'cpu.arch': { json: STRING, optional: true },
  'cpu.vendor': { json: STRING, optional: true },
  'cpu.model': { json: STRING, optional: true },
  'cpu.isa_level': { json: STRING, optional: true },
  'cpu.isa_level_missing': { json: ['array'], optional: true },
  'cpu.isa_next_level': { json: STRING_OR_NULL, optional: true },
  'cpu.features': { json: ['array'], optional: true },
  system: { json: ['object'], optional: false },
  'system.os': { json: STRING, optional: true },
  'system.hostname': { json: STRING_OR_NULL, optional: true },
  'system.libc': { json: ['object'], optional: true },
  'system.libc.family': { json: STRING, optional: true },
  'system.libc.version': { json: STRING_OR_NULL, optional: true },
  capacity: { json: ['object'], optional: false },
  'capacity.usable_cores': { json: NUMBER_OR_NULL, optional: true },
  'capacity.memory': { json: ['object'], optional: true },
  'capacity.memory.usable_bytes': { json: NUMBER_OR_NULL, optional: true },
  accelerators: { json: ['array'], optional: false },
  'accelerators[].vendor': { json: STRING, optional: false },
  'accelerators[].status': { json: STRING, optional: false },
  'accelerators[].reason': { json: STRING_OR_NULL, optional: true },
  'accelerators[].devices': { json: ['array'], optional: true },
  'accelerators[].devices[].name': { json: STRING, optional: true },
  'accelerators[].devices[].visible': { json: ['boolean'], optional: true },
  python: { json: ['object'], optional: false },
  'python.version': { json: STRING, optional: true },
  'python.implementation': { json: STRING, optional: true },
  'python.isa_level': { json: STRING_OR_NULL, optional: true },
  'python.free_threaded': { json: ['boolean'], optional: true },
  recommendations: { json: ['object'], optional: false },
  'recommendations.headroom': { json: STRING, optional: true },
  'recommendations.warnings': { json: ['array'], optional: true },
  'recommendations.better_kernel': { json: STRING_OR_NULL, optional: true },
  'recommendations.kernel_levels': { json: ['array'], optional: true },
  'recommendations.kernel_levels[].level': { json: STRING, optional: false },
  'recommendations.kernel_levels[].flag': { json: STRING, optional: false },
  'recommendations.kernel_levels[].runs': { json: ['boolean'], optional: false },
  diagnostics: { json: ['array'], optional: false },
  'diagnostics[].probe': { json: STRING, optional: false },
  'diagnostics[].source': { json: STRING, optional: false },
  'diagnostics[].error': { json: STRING_OR_NULL, optional: false }
};
