// A logged-out reader on the demo page, from the first click to a conversation that
// survives reloads and a server crash; quick exit; Hebrew right to left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Helpline } from '../lib/helpline.js';
import { launch, helplineStorage } from '../lib/browser.js';

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

test('a reader asks for help, talks with a helper, and nothing is lost or doubled', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	// Nothing but the loader until the click.
	assert.equal(await page.evaluate(() => typeof window.Helpline), 'undefined');
	await page.getByRole('button', { name: 'Get help' }).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	await dialog.waitFor();
	const text = dialog.getByLabel('What is happening?');
	assert.equal(await text.evaluate((el) => el === document.activeElement), true, 'focus moves into the dialog');

	// The counter stops at 1000.
	await text.fill('x'.repeat(1005));
	assert.equal([...(await text.inputValue())].length, 1000);
	await dialog.getByText('1000 of 1000 characters').waitFor();

	// Personal data is flagged before sending; the person may still send.
	await text.fill('Someone keeps undoing my edits and now writes to me at jane@example.org');
	await dialog.getByText('seems to contain an e-mail address').waitFor();
	await text.fill('Someone keeps undoing all my edits and calls me names on my talk page.');
	assert.equal(await dialog.getByText('seems to contain an e-mail address').isVisible(), false);
	await dialog.getByRole('button', { name: 'Send' }).click();

	const chat = page.getByRole('complementary', { name: 'Help chat' });
	await chat.getByText('calls me names').waitFor();
	await chat.getByText('You are number 1 in the queue.').waitFor();
	await chat.getByText('Connected').waitFor();

	// A helper answers through the helper API.
	const waiting = await helpline.waitingConversation();
	await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/claim`);
	await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/messages`, { client_id: 'h1', text: 'Hello, I am here. Which page is it?' });
	await chat.getByText('Which page is it?').waitFor();
	await chat.getByText('DemoHelper is with you.').waitFor();

	// The person answers back.
	const input = chat.getByLabel('Your message');
	await input.fill('It is the article about trains.');
	await input.press('Enter');
	const view = async () => helpline.helper('GET', `/v1/helper/conversations/${waiting.id}`);
	await waitFor(async () => (await view()).messages.some((m) => m.text === 'It is the article about trains.'));

	// Reload mid-conversation: the chat comes back with its history.
	await page.reload();
	await chat.getByText('Which page is it?').waitFor();
	await chat.getByText('It is the article about trains.').waitFor();
	await input.fill('After the reload.');
	await input.press('Enter');
	await waitFor(async () => (await view()).messages.some((m) => m.text === 'After the reload.'));

	// The server crashes and comes back on the same address: the chat reconnects.
	await helpline.kill();
	await chat.getByText('Connection lost').waitFor();
	await input.fill('Written while the server was down.');
	await input.press('Enter');
	await helpline.start();
	await chat.getByText('Connected').waitFor({ timeout: 30000 });
	await waitFor(async () => (await view()).messages.some((m) => m.text === 'Written while the server was down.'));
	await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/messages`, { client_id: 'h2', text: 'Thanks, I am looking at it now.' });
	await chat.getByText('I am looking at it now.').waitFor();

	// Each message exactly once, in order, on the page and on the server.
	const shown = await chat.locator('.helpline-msg .helpline-text').allTextContents();
	const stored = (await view()).messages.filter((m) => m.author_role !== 'system').map((m) => m.text);
	assert.deepEqual(shown.filter((t) => stored.includes(t)), stored);
	assert.equal(new Set(shown).size, shown.length, `no message shown twice: ${JSON.stringify(shown)}`);
	await context.close();
});

test('quick exit leaves no trace in storage', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	await page.getByRole('button', { name: 'Get help' }).click();
	await page.getByLabel('What is happening?').fill('I need to leave quickly sometimes.');
	await page.getByRole('button', { name: 'Send' }).click();
	await page.getByRole('complementary', { name: 'Help chat' }).getByText('Connected').waitFor();
	assert.ok((await helplineStorage(page)).length > 0, 'the conversation is kept for reloads');
	const demoOrigin = new URL(helpline.url).origin;
	await page.keyboard.press('Escape');
	await page.keyboard.press('Escape');
	await page.waitForURL('about:blank');
	// Back on the wiki's origin, nothing of the widget is left.
	const again = await context.newPage();
	await again.goto(`${demoOrigin}/demo`);
	assert.deepEqual(await helplineStorage(again), []);
	assert.equal(await again.locator('.helpline-chat').count(), 0);
	await context.close();
});

test('when it is over, the reader may leave a thank-you and a rating — once, and only if they want', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	await page.getByRole('button', { name: 'Get help' }).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	await dialog.getByLabel('What is happening?').fill('Someone reverted all my edits today.');
	await dialog.getByRole('button', { name: 'Send' }).click();
	const chat = page.getByRole('complementary');
	await chat.locator('.helpline-conn-live').waitFor();
	const queue = await helpline.helper('GET', '/v1/helper/queue?status=waiting');
	const waiting = queue.conversations.find((c) => c.preview.startsWith('Someone reverted all my edits today.'));
	await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/claim`);
	await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/close`, { outcome: 'resolved' });
	const thanks = chat.getByRole('group', { name: /How much did this help/ });
	await thanks.waitFor();
	await thanks.getByLabel('5').check();
	await chat.getByLabel('A few words for your helper (optional)').fill('Thank you, it is calm now.');
	await chat.locator('form.helpline-thanks').getByRole('button', { name: 'Send' }).click();
	await chat.getByText('Thank you. Your helper will see this.').waitFor();
	await context.close();
});

test('Hebrew renders right to left', async () => {
	const context = await browser.newContext({ locale: 'he' });
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	await page.evaluate(() => { document.documentElement.lang = 'he'; });
	await page.evaluate(() => window.dispatchEvent(new Event('helpline:open')));
	const dialog = page.getByRole('dialog', { name: 'קבלת עזרה' });
	await dialog.waitFor();
	assert.equal(await dialog.getAttribute('dir'), 'rtl');
	assert.equal(await dialog.evaluate((el) => getComputedStyle(el).direction), 'rtl');
	await context.close();
});

async function waitFor(check, timeout = 15000) {
	const deadline = Date.now() + timeout;
	for (;;) {
		if (await check()) return;
		if (Date.now() > deadline) throw new Error('condition not met in time');
		await new Promise((r) => setTimeout(r, 100));
	}
}
