// The widget while the server asks new requests for a proof of work (ALTCHA's format):
// it fetches a challenge when the dialog opens, solves it in the page, and the request
// goes through with it, the person seeing nothing but the chat starting.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Helpline } from '../lib/helpline.js';
import { launch } from '../lib/browser.js';

let helpline;
let browser;

before(async () => {
	helpline = await new Helpline('[proof_of_work]\nmode = "always"\nmax_number = 50000\n').start();
	browser = await launch();
});

after(async () => {
	await browser?.close();
	await helpline?.stop();
});

test('the widget solves the proof of work while the person writes, and the request is accepted with it', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	const challenges = [];
	const created = [];
	page.on('request', (r) => {
		if (r.url().endsWith('/v1/challenge')) challenges.push(r.url());
		if (r.url().endsWith('/v1/conversations') && r.method() === 'POST') created.push(JSON.parse(r.postData()));
	});
	const answers = [];
	page.on('response', (r) => { if (r.url().endsWith('/v1/conversations')) answers.push(r.status()); });
	await page.goto(`${helpline.url}/demo`);
	await page.getByRole('button', { name: 'Get help' }).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	await dialog.getByLabel('What is happening?').fill('Someone keeps writing to me. Proof of work on.');
	await dialog.getByRole('button', { name: 'Send' }).click();
	await page.getByRole('complementary', { name: 'Help chat' }).getByText('Connected').waitFor();
	assert.equal(challenges.length, 1, 'one challenge, fetched when the dialog opened');
	assert.equal(created.length, 1, 'one request, accepted the first time');
	assert.deepEqual(answers, [201]);
	const proof = JSON.parse(Buffer.from(created[0].proof_of_work, 'base64').toString());
	assert.equal(proof.algorithm, 'SHA-256');
	assert.ok(Number.isInteger(proof.number) && proof.number >= 0 && proof.number <= 50000, JSON.stringify(proof));
	const queue = await helpline.helper('GET', '/v1/helper/queue?status=waiting');
	assert.ok(queue.conversations.some((c) => c.preview === 'Someone keeps writing to me. Proof of work on.'));
	await context.close();
});
