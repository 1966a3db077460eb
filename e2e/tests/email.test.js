// The e-mail channel: a reader nobody can chat with right now asks to be answered by
// e-mail, sees plainly what happens next, gets no chat, keeps nothing in the browser —
// and the confirmation and the helper's answer arrive at a real SMTP server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AxeBuilder } from '@axe-core/playwright';
import { Helpline } from '../lib/helpline.js';
import { Smtpd } from '../lib/smtpd.js';
import { launch, helplineStorage } from '../lib/browser.js';

let smtpd;
let helpline;
let browser;

before(async () => {
	smtpd = await new Smtpd().start();
	helpline = await new Helpline(smtpd.config()).start();
	browser = await launch();
});

after(async () => {
	await browser?.close();
	await helpline?.stop();
	await smtpd?.stop();
});

async function serious(page, include) {
	const results = await new AxeBuilder({ page }).include(include).analyze();
	return results.violations
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

test('nobody online: the reader chooses e-mail, sees what happens next, and the answers arrive by mail', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	await page.getByRole('button', { name: 'Get help' }).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	await dialog.waitFor();
	await dialog.getByText('Nobody is online right now. Choose "By e-mail"').waitFor();
	const byEmail = dialog.getByRole('radio', { name: 'By e-mail' });
	assert.equal(await byEmail.isChecked(), true, 'with nobody online, e-mail is offered first');

	const text = dialog.getByLabel('What is happening?');
	await text.fill('An editor keeps reverting me and calls me names on my talk page.');
	await dialog.getByRole('button', { name: 'Send' }).click();
	// No address: an inline error, the words kept, nothing sent.
	await dialog.getByText('Please give an e-mail address').waitFor();
	assert.equal(await text.inputValue(), 'An editor keeps reverting me and calls me names on my talk page.');
	assert.equal((await helpline.helper('GET', '/v1/helper/queue')).conversations.length, 0);

	await dialog.getByLabel('Your e-mail address, for this matter only').fill('reader@example.org');
	await dialog.getByRole('button', { name: 'Send' }).click();
	// The dialog is now named by what it says: the request has been sent.
	const sent = page.getByRole('dialog', { name: 'Your request has been sent' });
	const confirmation = sent.getByRole('heading', { name: 'Your request has been sent' });
	await confirmation.waitFor();
	assert.equal(await confirmation.evaluate((el) => el === document.activeElement), true, 'focus moves to what happens next');
	await sent.getByText('answer you by e-mail at reader@example.org').waitFor();
	assert.deepEqual(await serious(page, '.helpline-dialog'), []);
	assert.equal(await page.locator('aside.helpline-chat').count(), 0, 'no chat on the e-mail channel');
	assert.deepEqual(await helplineStorage(page), [], 'nothing kept in the browser');

	const mails = await smtpd.waitFor(1);
	assert.equal(mails[0].to, 'reader@example.org');
	assert.match(mails[0].body, /> An editor keeps reverting me and calls me names on my talk page\./);

	const waiting = await helpline.waitingConversation();
	assert.equal(waiting.preview.includes('reader@example.org'), false);
	await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/claim`);
	await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/messages`, { client_id: 'mail-1', text: 'I have looked at the talk page. Here is what we can do.' });
	const answered = await smtpd.waitFor(2);
	assert.match(answered[1].body, /I have looked at the talk page\. Here is what we can do\./);

	await sent.getByRole('button', { name: 'Close' }).click();
	await sent.waitFor({ state: 'detached' });
	await context.close();
});

test('the e-mail confirmation is accessible in Hebrew, right to left', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	await page.evaluate(() => { document.documentElement.lang = 'he'; window.dispatchEvent(new Event('helpline:open')); });
	const dialog = page.locator('dialog.helpline-dialog');
	await dialog.waitFor();
	assert.equal(await dialog.getAttribute('dir'), 'rtl');
	await dialog.locator('#helpline-channel-email').check();
	await dialog.locator('textarea').fill('מישהו מטריד אותי בדף השיחה שלי.');
	await dialog.locator('#helpline-email').fill('korea@example.org');
	assert.deepEqual(await serious(page, '.helpline-dialog'), []);
	await dialog.locator('button[type="submit"]').click();
	await dialog.locator('.helpline-confirmation').waitFor();
	await dialog.getByText('korea@example.org').waitFor();
	assert.deepEqual(await serious(page, '.helpline-dialog'), []);
	await context.close();
});

test('after a chat ends, the reader may have it by e-mail: to the address given, without internal notes', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	await page.getByRole('button', { name: 'Get help' }).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	await dialog.getByRole('radio', { name: 'Chat here now' }).check();
	await dialog.getByLabel('What is happening?').fill('Someone follows me from page to page.');
	await dialog.getByRole('button', { name: 'Send' }).click();
	const chat = page.getByRole('complementary');
	await chat.locator('.helpline-conn-live').waitFor();
	const queue = await helpline.helper('GET', '/v1/helper/queue?status=waiting');
	const waiting = queue.conversations.find((c) => c.preview.startsWith('Someone follows me from page to page.'));
	const path = `/v1/helper/conversations/${waiting.id}`;
	await helpline.helper('POST', `${path}/claim`);
	await helpline.helper('POST', `${path}/messages`, { client_id: 'h-1', text: 'I am with you. Let us look at the history.' });
	await helpline.helper('POST', `${path}/messages`, { client_id: 'n-1', text: 'Internal: probably a sock puppet', internal: true });
	await chat.getByText('I am with you. Let us look at the history.').waitFor();
	await helpline.helper('POST', `${path}/close`, { outcome: 'resolved' });

	const form = chat.locator('form.helpline-transcript-mail');
	await form.getByText('Send me this conversation by e-mail').waitFor();
	assert.deepEqual(await serious(page, '#helpline-chat'), []);
	const before = (await smtpd.mails()).length;
	await form.getByLabel('Your e-mail address (used for this one mail, then deleted)').fill('not an address');
	await form.getByRole('button', { name: 'Send' }).click();
	await form.getByText('That does not look like an e-mail address.').waitFor();
	await form.getByLabel('Your e-mail address (used for this one mail, then deleted)').fill('reader@example.org');
	await form.getByRole('button', { name: 'Send' }).click();
	await chat.getByText('On its way. Internal notes of the helpers are not in it.').waitFor();

	const mails = await smtpd.waitFor(before + 1);
	const transcript = mails.find((m) => m.message_id === `<${waiting.id}.t1@helpline.test>`);
	assert.ok(transcript, 'the transcript, threaded with the conversation');
	assert.equal(transcript.to, 'reader@example.org');
	assert.match(transcript.body, /Someone follows me from page to page\./);
	assert.match(transcript.body, /I am with you\. Let us look at the history\./);
	assert.equal(transcript.body.includes('sock puppet'), false, 'never an internal note');
	await context.close();
});

test('a reader who leaves an address with a chat is told that leaving is all right: the answer would come by mail', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	await page.getByRole('button', { name: 'Get help' }).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	await dialog.getByRole('radio', { name: 'Chat here now' }).check();
	await dialog.getByLabel('What is happening?').fill('Someone writes to me every night.');
	await dialog.getByLabel('Your e-mail address, for this matter only (optional)').fill('night@example.org');
	await dialog.getByRole('button', { name: 'Send' }).click();
	const chat = page.getByRole('complementary');
	await chat.locator('.helpline-conn-live').waitFor();
	const note = chat.getByText('If you have to leave, that is all right');
	await note.waitFor();
	assert.deepEqual(await serious(page, '#helpline-chat'), []);
	// After a reload of the page the chat still says it.
	await page.reload();
	await page.getByRole('complementary').locator('.helpline-conn-live').waitFor();
	await page.getByRole('complementary').getByText('If you have to leave, that is all right').waitFor();
	const queue = await helpline.helper('GET', '/v1/helper/queue?status=waiting');
	const waiting = queue.conversations.find((c) => c.preview.startsWith('Someone writes to me every night.'));
	await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/claim`);
	await page.getByRole('complementary').getByText('If you have to leave, that is all right').waitFor({ state: 'hidden' });
	await context.close();
});
