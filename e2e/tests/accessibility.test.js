// axe-core on the widget: no serious or critical violation in the dialog and the chat,
// in English and in Hebrew (right to left).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AxeBuilder } from '@axe-core/playwright';
import { Helpline } from '../lib/helpline.js';
import { launch } from '../lib/browser.js';

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

async function serious(page, include) {
	const results = await new AxeBuilder({ page }).include(include).analyze();
	return results.violations
		.filter((v) => v.impact === 'serious' || v.impact === 'critical')
		.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

for (const [lang, colorScheme] of [['en', 'light'], ['he', 'light'], ['en', 'dark']]) {
	test(`dialog and chat have no serious accessibility violation (${lang}, ${colorScheme})`, async () => {
		const context = await browser.newContext({ colorScheme });
		const page = await context.newPage();
		await page.goto(`${helpline.url}/demo`);
		await page.evaluate((l) => { document.documentElement.lang = l; window.dispatchEvent(new Event('helpline:open')); }, lang);
		const dialog = page.locator('dialog.helpline-dialog');
		await dialog.waitFor();
		assert.equal(await dialog.getAttribute('dir'), lang === 'he' ? 'rtl' : 'ltr');
		await dialog.locator('textarea').fill('Someone is following me around the wiki. 0171 2345678');
		await dialog.locator('.helpline-warning').waitFor();
		assert.deepEqual(await serious(page, '.helpline-dialog'), []);

		await dialog.locator('button[type="submit"]').click();
		const chat = page.locator('aside.helpline-chat');
		await chat.locator('.helpline-conn-live').waitFor();
		const waiting = await helpline.waitingConversation();
		await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/claim`);
		await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/messages`, { client_id: `a-${lang}-${colorScheme}`, text: 'Hello' });
		await chat.locator('.helpline-helper').waitFor();
		assert.deepEqual(await serious(page, '.helpline-chat'), []);
		await context.close();
	});
}

test('keyboard only: open, write, send and reach the chat without a mouse', async () => {
	const context = await browser.newContext();
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	// Tab to the in-page "Get help" link and press Enter.
	for (let i = 0; i < 20; i++) {
		await page.keyboard.press('Tab');
		if (await page.evaluate(() => document.activeElement?.getAttribute('href') === '#get-help')) break;
	}
	await page.keyboard.press('Enter');
	await page.locator('dialog.helpline-dialog').waitFor();
	await page.keyboard.type('Typed with the keyboard only.');
	// Tab forward to Send (focus stays inside the modal dialog) and press it.
	for (let i = 0; i < 20; i++) {
		await page.keyboard.press('Tab');
		if (await page.evaluate(() => document.activeElement?.getAttribute('type') === 'submit')) break;
	}
	await page.keyboard.press('Enter');
	const input = page.locator('#helpline-input');
	await input.waitFor();
	assert.equal(await input.evaluate((el) => el === document.activeElement), true, 'focus moves to the chat');
	await page.keyboard.type('And a message.');
	await page.keyboard.press('Enter');
	await page.locator('.helpline-requester', { hasText: 'And a message.' }).locator('text=Delivered').waitFor();
	await context.close();
});

test('at 200 % zoom (1280 × 860 seen as 640 × 430) nothing overflows and every control is reachable', async () => {
	const context = await browser.newContext({ viewport: { width: 640, height: 430 } });
	const page = await context.newPage();
	await page.goto(`${helpline.url}/demo`);
	await page.evaluate(() => window.dispatchEvent(new Event('helpline:open')));
	const dialog = page.locator('dialog.helpline-dialog');
	await dialog.waitFor();
	const fits = await dialog.evaluate((el) => el.getBoundingClientRect().right <= window.innerWidth && el.scrollWidth <= el.clientWidth);
	assert.equal(fits, true, 'the dialog fits the width without horizontal scrolling');
	const send = dialog.locator('button[type="submit"]');
	await send.scrollIntoViewIfNeeded();
	assert.equal(await send.isVisible(), true);
	await dialog.locator('textarea').fill('At 200 % zoom.');
	await send.click();
	const chat = page.locator('aside.helpline-chat');
	await chat.locator('.helpline-conn-live').waitFor();
	const chatFits = await chat.evaluate((el) => el.getBoundingClientRect().width <= window.innerWidth);
	assert.equal(chatFits, true);
	await chat.locator('#helpline-input').scrollIntoViewIfNeeded();
	assert.equal(await chat.locator('#helpline-input').isVisible(), true);
	await context.close();
});
