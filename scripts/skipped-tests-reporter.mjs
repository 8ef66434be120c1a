// A node:test reporter that writes one JSON line per skipped or todo test (name, file, reason),
// so scripts/run-unit-tests.mjs can list them after the run, and fail a CI run that has any.
export default async function* skippedTestsReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, file, skip, todo } = event.data;
    if (skip === undefined && todo === undefined) continue;
    const reason = skip ?? todo;
    yield `${JSON.stringify({ name, file: file ?? null, kind: skip !== undefined ? 'skip' : 'todo', reason: typeof reason === 'string' ? reason : '' })}\n`;
  }
}
