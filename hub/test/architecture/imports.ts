import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The import graph of hub/src, read from the source text (no compiler needed): for every file,
 * the hub/src files it imports (static, type-only, re-exports and dynamic `import()`). Imports of
 * packages (the shared `@hearth/protocol` among them) and of files outside hub/src are left out.
 */
export function importGraph(srcDir: string): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, specs] of importSpecifiers(srcDir)) {
    const targets = new Set<string>();
    for (const spec of specs) {
      if (!spec.startsWith('.')) continue;
      const target = relative(srcDir, resolve(srcDir, dirname(file), spec));
      if (target.startsWith('..')) continue;
      targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** For every source file under srcDir, everything it imports, exactly as written (packages too). */
export function importSpecifiers(srcDir: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const file of listTs(srcDir)) out.set(file, specifiers(stripComments(readFileSync(join(srcDir, file), 'utf8'))));
  return out;
}

function listTs(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listTs(root, path));
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(path);
  }
  return out.sort();
}

/** Whole-line `//` comments and block comments that start a line: enough to skip commented-out imports. */
function stripComments(text: string): string {
  return text.replace(/^\s*\/\*[\s\S]*?\*\//gm, '').replace(/^\s*\/\/.*$/gm, '');
}

function specifiers(text: string): string[] {
  const out: string[] = [];
  // `import … from '…'` and `export … from '…'`, also spread over several lines.
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm)) out.push(m[1]!);
  // `import '…'` for its side effects.
  for (const m of text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) out.push(m[1]!);
  // `await import('…')`.
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

/** Strongly connected components with more than one file (or a file importing itself): the cycles. */
export function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indices.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!));
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indices.has(v)) visit(v);
  return found;
}
