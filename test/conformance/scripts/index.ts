// Every differential script, in a stable order (grouped by the section of etcd-v2-api.md they check).
import type { Script } from '../script.js';
import { authScripts } from './auth.js';
import { clusterScripts } from './cluster.js';
import { edgeScripts } from './edge.js';
import { errorScripts } from './errors.js';
import { getScripts } from './get.js';
import { headerScripts } from './headers.js';
import { indexScripts } from './indexes.js';
import { keyNameScripts, noValueScripts, valueScripts } from './names-values.js';
import { paramScripts } from './params.js';
import { casScripts, putScripts } from './put.js';
import { seedScripts } from './seed.js';
import { shapeScripts } from './shapes.js';
import { deleteScripts, dirScripts, postScripts } from './tree.js';
import { refreshScripts, ttlScripts } from './ttl.js';
import { historyScripts, watchScripts } from './watch.js';

export const allScripts: Script[] = [
  ...seedScripts,
  ...paramScripts,
  ...shapeScripts,
  ...headerScripts,
  ...getScripts,
  ...putScripts,
  ...casScripts,
  ...ttlScripts,
  ...refreshScripts,
  ...dirScripts,
  ...postScripts,
  ...deleteScripts,
  ...keyNameScripts,
  ...valueScripts,
  ...noValueScripts,
  ...watchScripts,
  ...historyScripts,
  ...indexScripts,
  ...errorScripts,
  ...clusterScripts,
  ...edgeScripts,
  ...authScripts,
];

/** HTTP requests a script sends (bulk steps count every request). */
export function requestCount(script: Script): number {
  return script.steps.reduce((n, s) => n + (s.kind === 'request' || s.kind === 'watch' ? 1 : s.kind === 'bulk' ? s.count : 0), 0);
}
