// The widget's behaviour where it used to go wrong, on the demo page: a conversation the
// server no longer knows here, read marks only for what was on screen, the personal-data
// hint from the server's own rules and cases, quick exit only from inside the widget,
// links added late or inside elements that stop clicks, the #get-help hash, and Send
// within reach on a phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Helpline } from '../lib/helpline.js';
import { launch, helplineStorage, waitFor, inViewport } from '../lib/browser.js';

const cases = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'screening', 'personal_data_cases.json'), 'utf8'));

let helpline;
let browser;

before(async () => {
	helpline = await new Helpline().start();
	browser = await launch();
});

after(async () => {
	await browser?.close();
	await helpline?.stop();
});

/** Opens /demo, asks for help with `text`; resolves once the chat is live. */
async function startChat(context, text) {
	const page = await context.newPage();
	const sent = [];
	const sockets = [];
	page.on('websocket', (ws) => {
		sockets.push(ws.url());
		ws.on('framesent', (f) => { try { sent.push(JSON.parse(f.payload)); } catch { /* not JSON */ } });
	});
	await page.goto(`${helpline.url}/demo`);
	await page.getByRole('button', { name: 'Get help' }).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	await dialog.getByLabel('What is happening?').fill(text);
	await dialog.getByRole('button', { name: 'Send' }).click();
	const chat = page.getByRole('complementary', { name: 'Help chat' });
	await chat.getByText('Connected').waitFor();
	const queue = await helpline.helper('GET', '/v1/helper/queue?status=waiting');
	const item = queue.conversations.find((c) => c.preview === text);
	assert.ok(item, `"${text}" waits in the queue`);
	return { page, chat, sent, sockets, id: item.id };
}

const reads = (sent) => sent.filter((f) => f.type === 'read');

test('the widget speaks the lean wire: its own message comes back as an ack only, shows as delivered, and once after a reload', async () => {
	const context = await browser.newContext();
	const received = [];
	context.on('page', (p) => p.on('websocket', (ws) => {
		ws.on('framereceived', (f) => { try { received.push(JSON.parse(f.payload)); } catch { /* not JSON */ } });
	}));
	const { page, chat, sent, id } = await startChat(context, 'Lean wire, please.');
	await helpline.helper('POST', `/v1/helper/conversations/${id}/claim`);
	await chat.getByText('DemoHelper is with you.').waitFor();
	const hello = sent.find((f) => f.type === 'hello');
	assert.equal(hello.wire, 2, 'the hello asks for the lean wire');
	assert.ok(received.some((f) => f.type === 'status' && f.wire === 2), 'the server agreed');

	const input = chat.getByLabel('Your message');
	await input.fill('My own words, said once.');
	await input.press('Enter');
	const mine = page.locator('.helpline-msg', { hasText: 'My own words, said once.' });
	await mine.getByText('Delivered').waitFor();
	const seq = Number(await mine.getAttribute('data-seq'));
	assert.ok(seq > 0, 'the ack gave it its seq');
	await helpline.helper('POST', `/v1/helper/conversations/${id}/messages`, { client_id: 'lean-1', text: 'Heard you.' });
	await chat.getByText('Heard you.').waitFor();
	assert.deepEqual(received.filter((f) => f.type === 'message' && f.seq === seq), [], 'no echo of its own message');
	assert.ok(received.some((f) => f.type === 'ack' && f.seq === seq && !('duplicate' in f)), 'one small ack');
	assert.deepEqual(received.filter((f) => f.type === 'status' && f.status === 'awaiting_requester'), [], 'no status for a turn');

	await page.reload();
	await page.getByRole('complementary', { name: 'Help chat' }).getByText('Heard you.').waitFor();
	assert.equal(await page.locator('.helpline-msg', { hasText: 'My own words, said once.' }).count(), 1, 'shown once after the reload');
	await context.close();
});

test('a conversation the server no longer knows here: said plainly, unsent words kept, no endless reconnecting', async () => {
	const context = await browser.newContext();
	const { page, chat, sockets } = await startChat(context, 'My conversation will be gone.');
	// This tab's token no longer opens the conversation (as after the server purged it):
	// the socket is closed with 4401. A message written before is still in the outbox.
	await page.evaluate(() => {
		const key = 'helpline:demo';
		const saved = JSON.parse(sessionStorage.getItem(key));
		saved.token = 'not-a-token-for-this-conversation';
		saved.outbox = [{ client_id: 'unsent-1', text: 'Words I wrote but that were never sent.' }];
		sessionStorage.setItem(key, JSON.stringify(saved));
	});
	sockets.length = 0;
	await page.reload();
	await chat.getByText('This conversation is no longer available here.').waitFor();
	assert.equal(await chat.getByText('reconnecting').count(), 0, 'no promise of reconnecting');
	assert.match(await chat.getByLabel(/Not sent yet/).inputValue(), /Words I wrote but that were never sent\./);
	assert.deepEqual(await helplineStorage(page), [], 'the stored conversation is dropped');
	assert.equal(await chat.getByLabel('Your message').isVisible(), false, 'nothing more is queued');
	await page.waitForTimeout(2500);
	assert.equal(sockets.length, 1, `no reconnect with the same token (${sockets.length} sockets)`);

	// A new request, with the unsent words already in it.
	await chat.getByRole('button', { name: 'Start a new request' }).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	const text = dialog.getByLabel('What is happening?');
	assert.match(await text.inputValue(), /Words I wrote but that were never sent\./);
	await text.fill('A fresh start.');
	await dialog.getByRole('button', { name: 'Send' }).click();
	await chat.getByText('Connected').waitFor();
	assert.equal(await page.locator('aside.helpline-chat').count(), 1, 'one chat, the new one');
	assert.equal(await chat.getByText('This conversation is no longer available here.').count(), 0);
	await context.close();
});

test('read marks only for helper messages the person has had on screen, one for the highest', async () => {
	const context = await browser.newContext();
	await context.addInitScript(() => {
		let hidden = false;
		Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
		Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
		window.setPageHidden = (h) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')); };
	});
	const { page, chat, sent, id } = await startChat(context, 'Mark only what I saw.');
	await helpline.helper('POST', `/v1/helper/conversations/${id}/claim`);
	const answer = async (n) => (await helpline.helper('POST', `/v1/helper/conversations/${id}/messages`, { client_id: `rm-${n}`, text: `Helper line ${n}` })).seq;

	// Shown: the helper's message is read.
	const first = await answer(1);
	await chat.getByText('Helper line 1').waitFor();
	await waitFor(async () => reads(sent).some((f) => f.seq === first), 5000, 'a read mark for the shown message');

	// The chat hidden: two messages arrive, none is marked read ...
	await chat.getByRole('button', { name: 'Hide' }).click();
	const before = reads(sent).length;
	await answer(2);
	const third = await answer(3);
	await page.locator('.helpline-msg', { hasText: 'Helper line 3' }).waitFor({ state: 'attached' });
	await page.waitForTimeout(500);
	assert.deepEqual(reads(sent).slice(before), [], 'nothing read while the chat is hidden');
	// ... until it is shown again: then one mark, for the highest.
	await page.getByRole('button', { name: 'Get help' }).click();
	await chat.getByText('Helper line 3').waitFor();
	await waitFor(async () => reads(sent).length > before, 5000, 'a read mark once shown');
	await page.waitForTimeout(300);
	assert.deepEqual(reads(sent).slice(before).map((f) => f.seq), [third], 'one read, for the highest');

	// The page in the background: nothing read until it is visible again.
	await page.evaluate(() => window.setPageHidden(true));
	const fourth = await answer(4);
	await page.locator('.helpline-msg', { hasText: 'Helper line 4' }).waitFor();
	await page.waitForTimeout(500);
	assert.equal(reads(sent).filter((f) => f.seq === fourth).length, 0, 'nothing read while the page is hidden');
	await page.evaluate(() => window.setPageHidden(false));
	await waitFor(async () => reads(sent).some((f) => f.seq === fourth), 5000, 'read once the page is visible');
	await context.close();
});

test('the personal-data hint follows the server\'s rules: every case of the server\'s own test', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	await page.getByRole('button', { name: 'Get help' }).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	const text = dialog.getByLabel('What is happening?');
	const warning = dialog.locator('#helpline-personal');
	const wrong = [];
	for (const c of cases) {
		await text.fill(c.text);
		if ((await warning.isVisible()) !== c.personal) wrong.push(`${c.personal ? 'no warning' : 'a warning'} for ${JSON.stringify(c.text)}`);
	}
	assert.deepEqual(wrong, [], `${wrong.length} of ${cases.length} cases`);
	assert.ok(cases.length >= 20);
	await context.close();
});

test('Escape twice leaves only from inside the widget: never once the dialog closed', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	const demo = page.url();
	const dialog = page.getByRole('dialog', { name: 'Get help' });

	// Open, Escape (closes the dialog), Escape again at once: the page stays.
	await page.getByRole('button', { name: 'Get help' }).click();
	await dialog.getByLabel('What is happening?').waitFor();
	await page.keyboard.press('Escape');
	await page.keyboard.press('Escape');
	await dialog.waitFor({ state: 'detached' });
	await page.waitForTimeout(1000);
	assert.equal(page.url(), demo);

	// Open, Cancel, then Escape twice somewhere else on the page: the page stays.
	await page.getByRole('button', { name: 'Get help' }).click();
	await dialog.getByRole('button', { name: 'Cancel' }).click();
	await dialog.waitFor({ state: 'detached' });
	await page.getByRole('link', { name: 'What links here' }).focus();
	await page.keyboard.press('Escape');
	await page.keyboard.press('Escape');
	await page.waitForTimeout(1000);
	assert.equal(page.url(), demo);
	await context.close();
});

test('a #get-help link added after load, inside an element that stops clicks, opens at the first click', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	await page.locator('#helpline-fab, #helpline-get-help').first().waitFor({ state: 'attached' });
	await page.evaluate(() => {
		const box = document.createElement('div');
		box.addEventListener('click', (e) => e.stopPropagation());
		const a = document.createElement('a');
		a.href = '#get-help';
		a.id = 'late-help';
		a.textContent = 'Help, added late';
		box.appendChild(a);
		document.querySelector('main').prepend(box);
	});
	await page.locator('#late-help').click();
	await page.getByRole('dialog', { name: 'Get help' }).waitFor({ timeout: 5000 });
	assert.equal(new URL(page.url()).hash, '', 'no hash left behind');
	await context.close();
});

test('opened from #get-help in the address, the hash is dropped: a reload does not reopen it', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo#get-help`);
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	await dialog.waitFor();
	assert.equal(new URL(page.url()).hash, '');
	await page.reload();
	await page.locator('#helpline-fab, #helpline-get-help').first().waitFor({ state: 'attached' });
	await page.waitForTimeout(1000);
	assert.equal(await page.locator('dialog.helpline-dialog').count(), 0, 'no dialog after the reload');
	await context.close();
});

test('on a phone (360 × 640) Send, Cancel and Quick exit are on screen without scrolling', async () => {
	const context = await browser.newContext({ viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true });
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	await page.getByRole('button', { name: 'Get help' }).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	await dialog.getByLabel('What is happening?').waitFor();
	for (const name of ['Send', 'Cancel', 'Quick exit']) {
		assert.equal(await inViewport(dialog.getByRole('button', { name })), true, `${name} is inside the viewport`);
	}
	// Still there with a long text typed.
	await dialog.getByLabel('What is happening?').fill('A long story.\n'.repeat(40));
	assert.equal(await inViewport(dialog.getByRole('button', { name: 'Send' })), true, 'Send stays in view');
	await context.close();
});
