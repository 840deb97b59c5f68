#!/usr/bin/env node
// Part of `npm run build`: copies the live view's static files (src/ui/*.html, *.css, *.svg) to
// dist/ui, beside the modules tsc compiled from src/ui (tsconfig.ui.json).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const from = path.join(root, 'src', 'ui');
const to = path.join(root, 'dist', 'ui');
fs.mkdirSync(to, { recursive: true });
for (const name of fs.readdirSync(from)) {
  if (/\.(html|css|svg)$/.test(name)) fs.copyFileSync(path.join(from, name), path.join(to, name));
}
