// The CLI contract of README.md for argument errors and interrupts: with --json, stdout is exactly
// one JSON object (outcome "error" and a message) and the status is 1, whatever is wrong with the
// arguments; without it, the message and the usage go to stderr. (Ctrl-C and SIGTERM during a
// build — status 130, outcome "interrupted" — are in process-groups.test.ts.)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cli } from '../helpers/cli';
import { tempDir } from './helpers';

describe('robustness: CLI argument errors', function () {
  this.timeout(60000);
  let dir: string;
  let src: string;
  before(() => {
    dir = tempDir('kvm-robust-cli-');
    src = path.join(dir, 'ok.S');
    fs.writeFileSync(src, '.code64\nhlt\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cases: Array<{ what: string; args: () => string[]; message: RegExp }> = [
    { what: 'an unknown flag', args: () => ['run', src, '--bogus', '--json'], message: /--bogus/ },
    { what: 'a flag without its value', args: () => ['run', src, '--json', '--mode'], message: /--mode/ },
    { what: 'a missing FILE', args: () => ['run', '--json'], message: /run takes one FILE; none was given/ },
    { what: 'an extra FILE', args: () => ['run', src, src, '--json'], message: /run takes one FILE; got 2/ },
    { what: 'an unknown command', args: () => ['frob', '--json'], message: /unknown command 'frob'/ },
    { what: '--json before the command', args: () => ['--json', 'run', src], message: /no command given/ },
    { what: 'an invalid option value', args: () => ['run', src, '--timeout', 'soon', '--json'], message: /invalid --timeout 'soon'/ },
  ];
  for (const c of cases) {
    it(`--json with ${c.what}: one JSON object, outcome "error", status 1`, function () {
      const r = cli(c.args(), { timeoutMs: 20000 });
      assert.equal(r.signal, null, r.stderr);
      assert.equal(r.status, 1, r.stderr);
      const lines = r.stdout.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, `stdout: ${r.stdout}`);
      const json = JSON.parse(lines[0]);
      assert.equal(json.outcome, 'error');
      assert.match(json.message, c.message);
      assert.equal(json.serial, '');
      assert.deepEqual(json.exits, {});
    });
  }

  it('without --json: nothing on stdout, the message and the usage on stderr, status 1', function () {
    const r = cli(['run', src, '--bogus'], { timeoutMs: 20000 });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /--bogus/);
    assert.match(r.stderr, /Usage:/);
  });
});
