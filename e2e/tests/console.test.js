// The helper console in a real browser: two helpers, each in their own browser context,
// working the same queue live — and nothing internal ever reaching the requester.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AxeBuilder } from '@axe-core/playwright';
import { Helpline } from '../lib/helpline.js';
import { launch } from '../lib/browser.js';

let helpline;
let browser;

before(async () => {
	helpline = await new Helpline().start();
	await helpline.run(['helper', 'add', 'Second', '--queue', 'demo']);
	browser = await launch();
});

after(async () => {
	await browser?.close();
	await helpline?.stop();
});

async function serious(page) {
	const results = await new AxeBuilder({ page }).analyze();
	return results.violations
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

const signIn = (name) => helpline.signIn(browser, name);

async function ask(text) {
	const response = await fetch(`${helpline.url}/v1/conversations`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json' },
		body: JSON.stringify({ site: 'demo', lang: 'en', text }),
	});
	assert.equal(response.status, 201);
	return response.json();
}

async function requesterTexts(created) {
	const response = await fetch(`${helpline.url}/v1/conversations/${created.id}`, { headers: { Authorization: `Bearer ${created.token}` } });
	return (await response.json()).messages.map((m) => m.text);
}

test('two helpers work one queue live; notes never reach the requester; hand-over moves it', async () => {
	const first = await signIn('DemoHelper');
	const second = await signIn('Second');
	await first.getByText('Nobody is waiting.').waitFor();
	await second.getByText('Nobody is waiting.').waitFor();
	assert.deepEqual(await serious(first), [], 'dashboard');

	// A new request appears on both dashboards without a reload.
	const created = await ask('Someone keeps posting my real name on talk pages.');
	await first.getByText('Someone keeps posting my real name').waitFor();
	await second.getByText('Someone keeps posting my real name').waitFor();

	// The first helper takes it; the second sees it taken and cannot answer.
	await first.getByRole('link', { name: /^Open/ }).first().click();
	await first.getByRole('button', { name: 'Take this conversation' }).click();
	await first.getByLabel('Answer (the person sees this)').waitFor();
	await second.getByRole('heading', { name: 'Open with other helpers' }).waitFor();
	await second.locator('section', { has: second.getByRole('heading', { name: 'Open with other helpers' }) }).getByText('DemoHelper').waitFor();
	await second.getByRole('link', { name: /^Open/ }).first().click();
	await second.getByText('Another helper has this conversation').waitFor();
	assert.equal(await second.getByLabel('Answer (the person sees this)').count(), 0);
	// Each sees that the other is looking at it too.
	await first.getByText('Also looking at this now: Second').waitFor();
	await second.getByText('Also looking at this now: DemoHelper').waitFor();

	// Canned replies: search, Enter inserts the first match into the answer, editable.
	await first.getByLabel('Search replies').fill('noticeboard');
	await first.getByLabel('Search replies').press('Enter');
	assert.match(await first.getByLabel('Answer (the person sees this)').inputValue(), /incidents noticeboard/);
	await first.keyboard.press('Alt+1');
	assert.match(await first.getByLabel('Answer (the person sees this)').inputValue(), /incidents noticeboard.*incidents noticeboard/s, 'Alt+1 inserts the first visible one again');

	// A note is for helpers only; the answer reaches the requester — and the second
	// helper's open page shows both live.
	await first.getByLabel('Internal note').fill('Probably the same person as last week; check the block log.');
	await first.getByRole('button', { name: 'Add note' }).click();
	await first.getByText('Internal note by DemoHelper — not sent').waitFor();
	await first.getByLabel('Answer (the person sees this)').fill('Thank you for telling us. I am looking at the talk pages now.');
	await first.getByRole('button', { name: 'Send', exact: true }).click();
	await second.getByText('I am looking at the talk pages now.').waitFor();
	await second.getByText('Probably the same person as last week').waitFor();
	const texts = await requesterTexts(created);
	assert.ok(texts.includes('Thank you for telling us. I am looking at the talk pages now.'), texts.join(' | '));
	assert.ok(!texts.some((t) => t.includes('block log')), `a note reached the requester: ${texts.join(' | ')}`);
	assert.deepEqual(await serious(first), [], 'conversation page');

	// Hand-over: the second helper's page turns into the owner's, without a reload.
	await first.getByLabel('Hand over to').selectOption('Second');
	await first.getByRole('button', { name: 'Hand over', exact: true }).click();
	await second.getByLabel('Answer (the person sees this)').waitFor();
	await second.getByText('With Second').waitFor();
	await first.getByText('Another helper has this conversation').waitFor();
	await first.context().close();
	await second.context().close();
});

test('a coordinator sees the statistics, drawn on the server, and they are accessible', async () => {
	const coordinator = await signIn('DemoHelper');
	await coordinator.getByRole('link', { name: 'Statistics' }).click();
	await coordinator.getByRole('heading', { name: 'Statistics' }).waitFor();
	await coordinator.getByRole('img', { name: 'Conversations per day' }).waitFor();
	assert.ok(await coordinator.locator('svg#per-day rect.bar').count() >= 7);
	assert.deepEqual(await serious(coordinator), [], 'statistics page');
	const csv = await coordinator.request.get(`${helpline.url}/console/stats.csv?days=7`);
	assert.equal(csv.status(), 200);
	assert.match(await csv.text(), /^section,queue,lang,day,conversations/);
	await coordinator.getByRole('link', { name: 'Team', exact: true }).click();
	await coordinator.getByRole('heading', { name: 'Members' }).waitFor();
	await coordinator.getByRole('textbox', { name: 'Name' }).fill('Third');
	await coordinator.getByRole('button', { name: 'Invite', exact: true }).click();
	await coordinator.getByText('Sign-in link for Third').waitFor();
	assert.deepEqual(await serious(coordinator), [], 'team page');

	// Replies and teams: a new guide, at once among a helper's replies.
	await coordinator.getByRole('link', { name: 'Replies and teams' }).click();
	await coordinator.getByRole('heading', { name: 'Replies and teams: Demo Wiki' }).waitFor();
	const add = coordinator.locator('form', { has: coordinator.getByRole('button', { name: 'Add a reply' }) });
	await add.getByLabel('Id', { exact: true }).fill('talk-page-help');
	await add.getByLabel('Title', { exact: true }).fill('Guide: asking on a talk page');
	await add.getByLabel('Text', { exact: true }).fill('You can ask the editor to stop on their talk page; I can help you word it.');
	await add.getByRole('button', { name: 'Add a reply' }).click();
	await coordinator.getByText('Guide: asking on a talk page', { exact: true }).waitFor();
	assert.deepEqual(await serious(coordinator), [], 'replies and teams page');
	await coordinator.context().close();

	const helper = await signIn('Second');
	assert.equal(await helper.getByRole('link', { name: 'Statistics' }).count(), 0, 'not a coordinator');
	await helper.context().close();
});

/** Presses Tab until the focused element satisfies `test(element, arg)`; at most 80 times. */
async function tabUntil(page, test, arg) {
	for (let i = 0; i < 80; i++) {
		await page.keyboard.press('Tab');
		if (await page.evaluate(([src, a]) => new Function('el', 'arg', `return (${src})(el, arg)`)(document.activeElement, a), [test.toString(), arg])) return;
	}
	throw new Error(`Tab never reached the element (${test})`);
}

test('keyboard only, in Hebrew: skip link, open, take and answer a request, right to left', async () => {
	const created = await ask('Someone follows me from page to page and reverts everything.');
	const page = await signIn('Second');
	await page.context().setExtraHTTPHeaders({ 'Accept-Language': 'he' });
	await page.goto(`${helpline.url}/console`);
	assert.equal(await page.locator('html').getAttribute('lang'), 'he');
	assert.equal(await page.locator('html').getAttribute('dir'), 'rtl');
	await page.getByText('Someone follows me from page to page').waitFor();
	assert.deepEqual(await serious(page), [], 'dashboard in Hebrew');

	// The first Tab reaches the skip link; Enter jumps over the header.
	await page.keyboard.press('Tab');
	assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'דילוג לתוכן');
	await page.keyboard.press('Enter');
	await tabUntil(page, (el, text) => el.tagName === 'A' && el.closest('tr') !== null && el.closest('tr').textContent.includes(text), 'Someone follows me');
	await page.keyboard.press('Enter');
	await page.waitForURL(/\/console\/conversations\//);
	await tabUntil(page, (el, label) => el.tagName === 'BUTTON' && el.textContent.trim() === label, 'לקחת את השיחה');
	await page.keyboard.press('Enter');
	await page.getByLabel('תשובה (הפונה יראה אותה)').waitFor();
	await tabUntil(page, (el) => el.id === 'reply-text');
	await page.keyboard.type('אני כאן. ספרו לי מה קרה, בקצב שלכם.');
	await page.keyboard.press('Control+Enter');
	await page.getByText('אני כאן. ספרו לי מה קרה').waitFor();
	const texts = await requesterTexts(created);
	assert.ok(texts.includes('אני כאן. ספרו לי מה קרה, בקצב שלכם.'), texts.join(' | '));
	assert.deepEqual(await serious(page), [], 'conversation in Hebrew');
	await page.context().close();
});
