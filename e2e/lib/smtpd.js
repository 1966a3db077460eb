// A real SMTP server on loopback (aiosmtpd, from PyPI) that delivers into a Maildir,
// read back with tests/support/read_maildir.py: the mail a requester would receive.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const reader = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'tests', 'support', 'read_maildir.py');

function freePort() {
	return new Promise((resolve) => {
		const server = createServer().listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => resolve(port));
		});
	});
}

function listening(port) {
	return new Promise((resolve) => {
		const socket = createConnection({ port, host: '127.0.0.1' }, () => { socket.end(); resolve(true); });
		socket.on('error', () => resolve(false));
	});
}

export class Smtpd {
	async start() {
		this.dir = mkdtempSync(join(tmpdir(), 'helpline-mail-'));
		this.maildir = join(this.dir, 'mail');
		this.port = await freePort();
		this.child = spawn('python3', ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${this.port}`, '-c', 'aiosmtpd.handlers.Mailbox', this.maildir], { stdio: ['ignore', 'ignore', 'inherit'] });
		const exited = new Promise((_, reject) => this.child.once('exit', (code) => reject(new Error(`aiosmtpd exited with ${code}: is it installed (pip install aiosmtpd)?`))));
		const ready = (async () => { while (!(await listening(this.port))) await new Promise((r) => setTimeout(r, 25)); })();
		await Promise.race([ready, exited]);
		return this;
	}

	/** The `[mail]` section that points a Helpline at this server. */
	config() {
		return `[mail]\nsmtp_url = "smtp://127.0.0.1:${this.port}"\nfrom = "Helpline demo <help@helpline.test>"\npoll_ms = 100\n`;
	}

	/** The mails received so far, in the order they were sent: a Maildir has no order,
	 * so they are sorted by the sequence in their Message-ID `<CONVERSATION.SEQ@domain>`. */
	mails() {
		const seq = (m) => Number((/\.(\d+)@/.exec(m.message_id || '') || [0, 0])[1]);
		const mails = JSON.parse(execFileSync('python3', [reader, this.maildir], { encoding: 'utf8' }));
		return mails.sort((a, b) => seq(a) - seq(b));
	}

	/** Waits (polling the Maildir) until at least `count` mails arrived. */
	async waitFor(count, timeoutMs = 15000) {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const mails = this.mails();
			if (mails.length >= count) return mails;
			if (Date.now() > deadline) throw new Error(`expected ${count} mails, got ${mails.length}`);
			await new Promise((r) => setTimeout(r, 50));
		}
	}

	async stop() {
		if (this.child && this.child.exitCode === null) {
			const gone = new Promise((resolve) => this.child.once('exit', resolve));
			this.child.kill('SIGTERM');
			await gone;
		}
		rmSync(this.dir, { recursive: true, force: true });
	}
}
