// Every differential script, in a stable order.
import type { Script } from '../script.js';
import { seedScripts } from './seed.js';

export const allScripts: Script[] = [...seedScripts];
