// kvm-unit-tests' x86/unittests.cfg: one [section] per test with `file`, `smp`, `extra_params`
// (QEMU options: `-append '…'` for the test's arguments, `-cpu …`, `-m …`), `arch`, `timeout`.
// Only what the conformance runner uses is read.

export interface UnitTest {
  name: string;
  file: string;
  smp: number;
  /** The QEMU options as written. */
  extraParams: string;
  arch?: string;
  timeoutSeconds?: number;
}

/** Splits QEMU options as a POSIX shell would for the forms the file uses (quotes, no expansions). */
export function splitOptions(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let any = false;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      any = true;
    } else if (/\s/.test(ch)) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else cur += ch;
  }
  if (cur || any) out.push(cur);
  return out;
}

/** The `-append` argument (the test's own command line), or ''. */
export function appendOf(extraParams: string): string {
  const opts = splitOptions(extraParams);
  const i = opts.findIndex((o) => o === '-append' || o === '--append');
  return i >= 0 && i + 1 < opts.length ? opts[i + 1] : '';
}

/** The `-m` value in MiB, when the test asks for one (e.g. "2048", "4g"). */
export function memoryOf(extraParams: string): number | undefined {
  const opts = splitOptions(extraParams);
  const i = opts.indexOf('-m');
  if (i < 0 || i + 1 >= opts.length) return undefined;
  const m = /^(\d+)([mMgG]?)$/.exec(opts[i + 1]);
  if (!m) return undefined;
  return Number(m[1]) * (m[2].toLowerCase() === 'g' ? 1024 : 1);
}

export function parseUnitTests(text: string): Map<string, UnitTest> {
  const tests = new Map<string, UnitTest>();
  let cur: UnitTest | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s*#.*$/, '').trim();
    if (!line) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      cur = { name: section[1], file: '', smp: 1, extraParams: '' };
      tests.set(cur.name, cur);
      continue;
    }
    const kv = /^(\w+)\s*=\s*(.*)$/.exec(line);
    if (!kv || !cur) continue;
    const [, key, value] = kv;
    if (key === 'file') cur.file = value;
    else if (key === 'smp') cur.smp = Number(value) || 1;
    else if (key === 'extra_params') cur.extraParams = value;
    else if (key === 'arch') cur.arch = value;
    else if (key === 'timeout') cur.timeoutSeconds = Number(/^\d+/.exec(value)?.[0]) || undefined;
  }
  return tests;
}
