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

/** Every Content-Length framed message a child writes on stdout, as they arrive. */
export class MessageStream {
  readonly messages: Record<string, any>[] = [];
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  exited = false;

  constructor(child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      for (;;) {
        const head = this.buffer.indexOf('\r\n\r\n');
        if (head < 0) break;
        const m = /Content-Length: (\d+)/i.exec(this.buffer.subarray(0, head).toString());
        if (!m) throw new Error(`no Content-Length in ${this.buffer.subarray(0, head).toString()}`);
        const end = head + 4 + Number(m[1]);
        if (this.buffer.length < end) break;
        this.messages.push(JSON.parse(this.buffer.subarray(head + 4, end).toString()));
        this.buffer = this.buffer.subarray(end);
      }
      for (const w of this.waiters.splice(0)) w();
    });
    child.on('exit', () => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  /** The first message (already received or to come) that `pred` accepts. */
  async waitFor(what: string, pred: (m: Record<string, any>) => boolean, timeoutMs = 20000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(pred);
      if (found) return found;
      if (this.exited) throw new Error(`the server exited before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got: ${this.messages.map((m) => m.command ?? m.event).join(', ')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}
