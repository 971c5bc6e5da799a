/** What the entry points' V8 settings in src/runtime/ share: an operator's own flag wins over theirs. */

/**
 * true when the process was started with `--<name>` (with or without a value), on node's command line or in
 * NODE_OPTIONS; V8 reads `-` and `_` alike in a flag's name
 */
export function operatorSets(name: string, execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  const flag = new RegExp(`^--${name.replace(/[-_]/g, '[-_]')}(=|$)`);
  const mentions = (arg: string) => flag.test(arg);
  return execArgv.some(mentions) || (nodeOptions ?? '').split(/\s+/).some(mentions);
}

/** the same, for this process */
export function operatorSetsHere(name: string): boolean {
  return operatorSets(name, process.execArgv, process.env.NODE_OPTIONS);
}
