// Settings of the process that runs the checks (analysis.ts); its own file, since the
// extension host starts that process and must not bundle the parser to learn them.

/**
 * Node flags of the process that checks documents as the user types (the language server).
 * A check allocates many short-lived objects while the file's syntax tree and results stay
 * alive; with V8's default young generation (a few MB) every check runs several scavenges
 * that copy that live data, up to a third of the re-check time of a 2 000-line file. A larger
 * one (committed only as it fills) spares most of them (bench/check-speed*.ts).
 */
export const analysisProcessFlags: readonly string[] = ['--max-semi-space-size=32'];
