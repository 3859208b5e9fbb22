import { readdirSync, readFileSync } from 'node:fs';

/** The command lines (argv) of the running children of `ppid` whose program name ends with `name`. */
export function childCommandLines(ppid: number, name: string): string[][] {
  const out: string[][] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      // "pid (comm) state ppid ...": comm may hold spaces, so read after its closing parenthesis.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== ppid) continue;
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv[0]?.endsWith(name)) out.push(argv);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}
