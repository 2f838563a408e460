/**
 * The edit the benchmarks re-check after: a comment typed at the end of a statement in
 * the middle of the file (the first indented line at or after the middle that does not
 * open a block). A comment after a block header (`def f(x):  # ...`) makes tree-sitter
 * re-read the block below it and costs the incremental parse several times more.
 */
export function typicalEdit(text: string, python: boolean): string {
  const lines = text.split('\n');
  let at = Math.floor(lines.length / 2);
  while (at < lines.length - 1 && (!/^\s+\S/.test(lines[at]!) || /[:{]\s*$/.test(lines[at]!))) at++;
  lines[at] = `${lines[at]}  ${python ? '#' : '//'} checked`;
  return lines.join('\n');
}
