// One terminal per debug session showing the guest's serial output (with CRLF line endings, as a
// terminal needs) and sending what the user types to the UART receive queue. The Debug Console
// keeps the output too.
import * as vscode from 'vscode';

export class SerialTerminal implements vscode.Pseudoterminal {
  private readonly writeEmitter = new vscode.EventEmitter<string>();
  readonly onDidWrite = this.writeEmitter.event;
  private readonly closeEmitter = new vscode.EventEmitter<void>();
  readonly onDidClose = this.closeEmitter.event;
  private opened = false;
  private backlog = '';
  private ended = false;
  terminal?: vscode.Terminal;

  constructor(private readonly session: vscode.DebugSession) {}

  open(): void {
    this.opened = true;
    if (this.backlog) this.writeEmitter.fire(this.backlog);
    this.backlog = '';
  }

  close(): void {
    this.opened = false;
  }

  /** Guest output: bare LF becomes CRLF so lines start at column 0. */
  output(text: string): void {
    const t = text.replace(/\r?\n/g, '\r\n');
    if (this.opened) this.writeEmitter.fire(t);
    else this.backlog += t;
  }

  handleInput(data: string): void {
    if (this.ended) return;
    // Enter sends CR; guests read lines ending in LF.
    const text = data.replace(/\r/g, '\n');
    void this.session.customRequest('kvmGuest/sendInput', { text }).then(undefined, (e: Error) =>
      this.writeEmitter.fire(`\r\n[input not delivered: ${e.message}]\r\n`),
    );
  }

  end(message: string): void {
    this.ended = true;
    this.output(`\n[${message}]\n`);
  }
}

/** Watches kvm-guest sessions: serial output into their terminals, stops and ends to listeners. */
export class SessionWatcher implements vscode.DebugAdapterTrackerFactory {
  private readonly terminals = new Map<string, SerialTerminal>();
  private readonly stopEmitter = new vscode.EventEmitter<vscode.DebugSession>();
  readonly onDidStop = this.stopEmitter.event;
  private readonly stateEmitter = new vscode.EventEmitter<{ session: vscode.DebugSession; state: string; accelerator?: string }>();
  readonly onDidChangeState = this.stateEmitter.event;
  private fire(e: { session: vscode.DebugSession; state: string; accelerator?: string }): void {
    this.states.set(e.session.id, e.state);
    this.stateEmitter.fire(e);
  }
  /** What runs each session's vCPU ("KVM (kvm_intel)", "software CPU (Unicorn 2.0.1)"), from the adapter's event. */
  private readonly accelerators = new Map<string, string>();

  /** The last state of each session, so that a label change keeps it. */
  private readonly states = new Map<string, string>();

  acceleratorOf(session: vscode.DebugSession): string | undefined {
    return this.accelerators.get(session.id);
  }

  terminalOf(session: vscode.DebugSession): SerialTerminal | undefined {
    return this.terminals.get(session.id);
  }

  createDebugAdapterTracker(session: vscode.DebugSession): vscode.DebugAdapterTracker {
    const wantTerminal = vscode.workspace.getConfiguration('kvmGuest').get<boolean>('openSerialTerminal', true);
    let serial: SerialTerminal | undefined;
    const ensureTerminal = (): SerialTerminal | undefined => {
      if (!wantTerminal) return undefined;
      if (!serial) {
        serial = new SerialTerminal(session);
        serial.terminal = vscode.window.createTerminal({ name: `Serial: ${session.name}`, pty: serial, isTransient: true });
        this.terminals.set(session.id, serial);
      }
      return serial;
    };
    return {
      onWillStartSession: () => {
        ensureTerminal();
        this.fire({ session, state: 'starting' });
      },
      onDidSendMessage: (m: { type: string; event?: string; body?: Record<string, unknown> }) => {
        if (m.type !== 'event') return;
        if (m.event === 'kvmGuest.accelerator') {
          // Only the label changes: the session may already be running (configurationDone can
          // arrive while the guest is still being built).
          this.accelerators.set(session.id, String(m.body?.label));
          this.stateEmitter.fire({ session, state: this.states.get(session.id) ?? 'starting', accelerator: String(m.body?.label) });
        } else if (m.event === 'output' && m.body?.category === 'stdout') ensureTerminal()?.output(String(m.body.output));
        else if (m.event === 'stopped') {
          this.fire({ session, state: `stopped (${String(m.body?.reason)})` });
          this.stopEmitter.fire(session);
        } else if (m.event === 'continued') this.fire({ session, state: 'running' });
        else if (m.event === 'exited') {
          serial?.end(`guest exited with code ${String(m.body?.exitCode)}`);
          this.fire({ session, state: `exited (${String(m.body?.exitCode)})` });
          this.stopEmitter.fire(session);
        }
      },
      onWillReceiveMessage: (m: { type: string; command?: string }) => {
        if (m.type === 'request' && ['continue', 'next', 'stepIn', 'stepOut', 'configurationDone'].includes(m.command ?? ''))
          this.fire({ session, state: 'running' });
      },
      onWillStopSession: () => {
        this.fire({ session, state: 'ended' });
        this.terminals.delete(session.id);
        this.accelerators.delete(session.id);
        this.states.delete(session.id);
      },
    };
  }
}
