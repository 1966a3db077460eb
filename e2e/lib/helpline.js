// Starts the real helpline binary (`demo`) on a free loopback port with a fresh data
// directory, and talks to its helper API — what a helper would do.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.HELPLINE_BIN || join(root, 'target', 'debug', 'helpline');

export class Helpline {
	/**
	 * `config`: extra helpline.toml text (e.g. a site for a test wiki). `databaseUrl`: a
	 * PostgreSQL database to keep the data in (several nodes share one), instead of the
	 * demo's own SQLite.
	 */
	constructor(config = '', { databaseUrl } = {}) {
		this.databaseUrl = databaseUrl;
		this.dataDir = mkdtempSync(join(tmpdir(), 'helpline-e2e-'));
		this.port = 0;
		this.config = join(this.dataDir, 'helpline.toml');
		writeFileSync(this.config, config);
	}

	/** The environment of this server's commands: its store, quiet logs. */
	env() {
		const env = { ...process.env, HELPLINE_LOG: 'warn' };
		delete env.HELPLINE_DATABASE_URL; // the demo's own SQLite, unless given one
		if (this.databaseUrl) env.HELPLINE_DATABASE_URL = this.databaseUrl;
		return env;
	}

	/** Starts `helpline demo`; resolves once it printed its URL and token. */
	async start() {
		const listen = `127.0.0.1:${this.port}`;
		this.child = spawn(BIN, ['demo', '--config', this.config, '--listen', listen, '--data-dir', this.dataDir], {
			cwd: this.dataDir,
			env: this.env(),
			stdio: ['ignore', 'pipe', 'inherit'],
		});
		const lines = createInterface({ input: this.child.stdout });
		const exited = new Promise((_, reject) => this.child.once('exit', (code) => reject(new Error(`helpline exited with ${code}`))));
		const ready = new Promise((resolve) => {
			let previous = '';
			lines.on('line', (line) => {
				const m = /^Helpline demo listening on (http:\/\/\S+)/.exec(line);
				if (m) this.url = m[1];
				if (previous.startsWith('Helper DemoHelper API token')) {
					this.token = line.trim();
					resolve();
				}
				previous = line;
			});
		});
		await Promise.race([ready, exited]);
		this.port = Number(new URL(this.url).port); // a restart keeps the same address
		return this;
	}

	/** kill -9, as a crash would. */
	async kill() {
		const gone = new Promise((resolve) => this.child.once('exit', resolve));
		this.child.kill('SIGKILL');
		await gone;
	}

	async stop() {
		if (this.child && this.child.exitCode === null && this.child.signalCode === null) await this.kill();
		rmSync(this.dataDir, { recursive: true, force: true });
	}

	/** Runs a CLI command with this server's config and data; resolves to its stdout. */
	run(args) {
		return new Promise((resolve, reject) => {
			const child = spawn(BIN, ['--config', this.config, '--data-dir', this.dataDir, ...args], { env: this.env(), stdio: ['ignore', 'pipe', 'inherit'] });
			let out = '';
			child.stdout.on('data', (chunk) => { out += chunk; });
			child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`helpline ${args.join(' ')} exited with ${code}`))));
		});
	}

	async helper(method, path, body) {
		const response = await fetch(this.url + path, {
			method,
			headers: { Authorization: `Bearer ${this.token}`, 'Content-Type': 'application/json' },
			body: body ? JSON.stringify(body) : undefined,
		});
		const json = await response.json().catch(() => ({}));
		if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
		return json;
	}

	/**
	 * Signs helper `name` into the console in a new context of `browser`, through a
	 * one-time link as from `helpline helper link NAME`; resolves to the page.
	 */
	async signIn(browser, name, contextOptions = { viewport: { width: 1280, height: 900 } }) {
		const out = await this.run(['helper', 'link', name]);
		const token = /token=(mlk_\S+)/.exec(out)[1];
		const context = await browser.newContext(contextOptions);
		// What the console's Content Security Policy refused: its pages must need nothing it forbids.
		this.cspViolations ??= [];
		context.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) this.cspViolations.push(m.text()); });
		const page = await context.newPage();
		await page.goto(`${this.url}/console/signin/link?token=${token}`);
		await page.getByRole('button', { name: `Continue as ${name}` }).click();
		await page.getByText(`Signed in as ${name}`).waitFor();
		return page;
	}

	async waitingConversation() {
		const queue = await this.helper('GET', '/v1/helper/queue?status=waiting');
		return queue.conversations[0];
	}
}
