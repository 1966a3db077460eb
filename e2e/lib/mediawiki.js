// A real MediaWiki 1.39 (Debian's package, SQLite, php -S on loopback), set up by the
// scripts in e2e/mediawiki/, with pages edited through its own API.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'mediawiki');
export const MW_PORT = process.env.MW_PORT || '8181';
export const MW_URL = `http://127.0.0.1:${MW_PORT}`;
export const READER = { name: 'Reader', password: process.env.MW_USER_PASS || 'Helpline-e2e-Reader-2024' };
/** The interface-admin bot password setup.sh makes, for `helpline wiki install-gadget`. */
export const GADGET_BOT = {
	login: `${process.env.MW_ADMIN_USER || 'Admin'}@gadget`,
	password: process.env.MW_GADGET_PASS || 'helplinee2egadgetpassword0000000',
};
const env = { ...process.env, MW_PORT, MW_URL, MW_DIR: process.env.MW_DIR || '/tmp/helpline-e2e-mw' };

export async function startWiki() {
	await run(join(dir, 'setup.sh'), [], { env, timeout: 600000 });
	await run(join(dir, 'start.sh'), [], { env, timeout: 60000 });
	return MW_URL;
}

export async function stopWiki() {
	await run(join(dir, 'stop.sh'), [], { env }).catch(() => {});
}

/** Blocks a user for a week as the wiki's administrator, with `reason`. */
export async function blockUser(user, reason) {
	await run('python3', [join(dir, 'edit_page.py'), '-q', '--summary', reason, '--block', user], { env, timeout: 60000 });
}

/** Edits pages as the wiki's administrator: pairs of [title, file]. */
export async function editPages(pairs) {
	await run('python3', [join(dir, 'edit_page.py'), '-q', ...pairs.flat()], { env, timeout: 60000 });
}
