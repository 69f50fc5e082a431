// The first Content-Length framed message a child process writes on stdout (DAP and LSP framing).
import type { ChildProcess } from 'node:child_process';

export function send(child: ChildProcess, message: object): void {
  const body = JSON.stringify(message);
  child.stdin!.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

export function firstMessage(child: ChildProcess): Promise<Record<string, any>> {
  let buffer = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      buffer += d.toString();
      const m = /Content-Length: (\d+)\r\n\r\n/.exec(buffer);
      if (!m) return;
      const start = m.index + m[0].length;
      if (buffer.length >= start + Number(m[1])) resolve(JSON.parse(buffer.slice(start, start + Number(m[1]))));
    });
    child.on('exit', (code) => reject(new Error(`the server exited with ${code}`)));
  });
}
