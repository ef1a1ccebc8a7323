'use strict';
// Minimal long-option parser: spec maps option name -> 'string' | 'number' | 'bool'.
function parseArgs(argv, spec, usage) {
  const opts = {};
  const rest = [];
  const die = (msg) => {
    process.stderr.write(`${msg}\n${usage}`);
    process.exit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      process.stdout.write(usage);
      process.exit(0);
    }
    if (!a.startsWith('--') || a === '-') {
      rest.push(a);
      continue;
    }
    let [name, val] = a.slice(2).split(/=(.*)/s, 2);
    const type = spec[name];
    if (!type) die(`unknown option --${name}`);
    if (type === 'bool') {
      opts[name] = true;
      continue;
    }
    if (val === undefined) {
      if (i + 1 >= argv.length) die(`--${name} needs a value`);
      val = argv[++i];
    }
    if (type === 'number') {
      if (!/^-?\d+$/.test(val)) die(`--${name}: not an integer: ${val}`);
      opts[name] = Number(val);
    } else opts[name] = val;
  }
  return { opts, rest };
}
module.exports = { parseArgs };
