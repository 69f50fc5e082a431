// Splits one physical line into code (comments blanked to spaces, columns unchanged), comment
// spans and statement spans (GAS separates statements with `;`).
//
// Comment rules: `/* */` everywhere (it may span lines); `#` to the end of the line (GNU as on
// x86 Linux); in plain `.s` a `/` first on a line comments the line; in preprocessed files
// (`.S`, headers) `//` is a C comment. Directive lines of the preprocessor keep `#` (stringify).

export interface ScannedLine {
  code: string;
  comments: Array<[number, number]>;
  commentText: string;
  /** Statement spans [start, end) in `code`. */
  statements: Array<[number, number]>;
  /** Still inside a block comment at the end of the line. */
  inBlock: boolean;
  hasCode: boolean;
}

export interface ScanOptions {
  cpp: boolean;
  /** A preprocessor directive line: no `;` splitting, `#` is not a comment. */
  directive?: boolean;
}

const SPACE = 32;
const SPECIAL = /[/#;"']/;
const HAS_CODE = /\S/;

const NOTHING: Array<[number, number]> = [];
const PLAIN: ScannedLine = { code: '', comments: NOTHING, commentText: '', statements: [[0, 0]], inBlock: false, hasCode: false };

export function scanLine(raw: string, inBlock: boolean, opts: ScanOptions): ScannedLine {
  const n = raw.length;
  // Fast path: no comment, string or separator characters (most code lines).
  if (!inBlock && !SPECIAL.test(raw)) {
    return { code: raw, comments: NOTHING, commentText: '', statements: [[0, n]], inBlock: false, hasCode: HAS_CODE.test(raw) };
  }
  let code: string[] | undefined; // built lazily: most lines have no comment
  const comments: Array<[number, number]> = [];
  const texts: string[] = [];
  const statements: Array<[number, number]> = [];
  let stmtStart = 0;
  let i = 0;
  let hasCode = false;
  const blank = (from: number, to: number): void => {
    if (code === undefined) code = raw.split('');
    for (let k = from; k < to; k++) code[k] = ' ';
  };
  const comment = (from: number, to: number, textFrom: number, textTo: number): void => {
    comments.push([from, to]);
    const t = raw.slice(textFrom, textTo).replace(/^\s*\*?\s?/, '').trim();
    if (t !== '') texts.push(t);
    blank(from, to);
  };
  if (inBlock) {
    const end = raw.indexOf('*/');
    if (end < 0) {
      comment(0, n, 0, n);
      return { code: ' '.repeat(n), comments, commentText: texts.join(' '), statements, inBlock: true, hasCode: false };
    }
    comment(0, end + 2, 0, end);
    i = end + 2;
    inBlock = false;
  }
  // Plain GNU as: `/` as the first non-blank character comments the whole line.
  if (!opts.cpp && !opts.directive) {
    let k = i;
    while (k < n && (raw.charCodeAt(k) === SPACE || raw.charCodeAt(k) === 9)) k++;
    if (k < n && raw[k] === '/' && raw[k + 1] !== '*') {
      comment(k, n, k + 1, n);
      i = n;
    }
  }
  while (i < n) {
    const c = raw.charCodeAt(i);
    if (c === 34 /* " */) {
      hasCode = true;
      i++;
      while (i < n && raw.charCodeAt(i) !== 34) i += raw.charCodeAt(i) === 92 ? 2 : 1;
      i = Math.min(i + 1, n);
      continue;
    }
    if (c === 39 /* ' */ && !opts.directive) {
      hasCode = true;
      // GNU as character constant: 'c, '\n, optionally closed by '.
      i += raw.charCodeAt(i + 1) === 92 ? 3 : 2;
      if (raw.charCodeAt(i) === 39) i++;
      continue;
    }
    if (c === 47 /* / */) {
      const next = raw.charCodeAt(i + 1);
      if (next === 42 /* * */) {
        const end = raw.indexOf('*/', i + 2);
        if (end < 0) {
          comment(i, n, i + 2, n);
          inBlock = true;
          i = n;
          break;
        }
        comment(i, end + 2, i + 2, end);
        i = end + 2;
        continue;
      }
      if (next === 47 && (opts.cpp || opts.directive)) {
        comment(i, n, i + 2, n);
        i = n;
        break;
      }
    }
    if (c === 35 /* # */ && !opts.directive) {
      comment(i, n, i + 1, n);
      i = n;
      break;
    }
    if (c === 59 /* ; */ && !opts.directive) {
      statements.push([stmtStart, i]);
      stmtStart = i + 1;
      i++;
      continue;
    }
    if (c !== SPACE && c !== 9) hasCode = true;
    i++;
  }
  statements.push([stmtStart, n]);
  return {
    code: code === undefined ? raw : (code as string[]).join(''),
    comments,
    commentText: texts.join(' '),
    statements,
    inBlock,
    hasCode,
  };
}
