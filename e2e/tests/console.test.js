// The helper console in a real browser: two helpers, each in their own browser context,
// working the same queue live — and nothing internal ever reaching the requester; and the
// console script itself: the dashboard fetches only its live part, once per burst; an
// expired session leads to the sign-in page; one AudioContext rings every request; an
// error in handling a frame is not swallowed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AxeBuilder } from '@axe-core/playwright';
import { Helpline } from '../lib/helpline.js';
import { launch, waitFor } from '../lib/browser.js';

let helpline;
let browser;

before(async () => {
	// Bursts of requests from this one test machine: more than a network may start per hour.
	helpline = await new Helpline('[limits]\nconversations_per_hour_per_network = 1000\n').start();
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

/** Records the console's sockets (window.consoleSockets) before its script runs. */
function recordSockets() {
	const Native = window.WebSocket;
	window.consoleSockets = [];
	window.WebSocket = class extends Native {
		constructor(...args) {
			super(...args);
			window.consoleSockets.push(this);
		}
	};
}

/** A signed-in dashboard whose socket is live. */
async function dashboard(name, initScripts = []) {
	const page = await signIn(name);
	for (const script of initScripts) await page.context().addInitScript(script);
	await page.goto(`${helpline.url}/console`);
	await page.locator('#connection.conn-live').waitFor();
	return page;
}

test('the console speaks the lean wire: its hello asks, the server agrees with a second ready', async () => {
	const page = await signIn('DemoHelper');
	const sent = [];
	const received = [];
	page.on('websocket', (ws) => {
		ws.on('framesent', (f) => { try { sent.push(JSON.parse(f.payload)); } catch { /* not JSON */ } });
		ws.on('framereceived', (f) => { try { received.push(JSON.parse(f.payload)); } catch { /* not JSON */ } });
	});
	await page.goto(`${helpline.url}/console`);
	await page.locator('#connection.conn-live').waitFor();
	await waitFor(async () => received.some((f) => f.type === 'ready' && f.wire === 2), 5000, 'ready with wire 2');
	assert.deepEqual(sent.filter((f) => f.type === 'hello'), [{ type: 'hello', wire: 2 }]);
	await page.context().close();
});

test('a burst of new requests: the dashboard fetches only its live part, once or twice, never the whole page', async () => {
	const page = await dashboard('DemoHelper');
	await page.waitForTimeout(1000);
	const fetched = [];
	page.on('request', (r) => {
		if (r.resourceType() === 'fetch' || r.resourceType() === 'xhr') fetched.push(new URL(r.url()).pathname);
	});
	const texts = Array.from({ length: 10 }, (_, i) => `Burst request number ${i + 1} of ten.`);
	for (const text of texts) await ask(text);
	for (const text of texts) await page.getByText(text).waitFor();
	await page.waitForTimeout(1500);
	assert.equal(fetched.filter((p) => p === '/console').length, 0, `the whole page was fetched: ${fetched.join(' ')}`);
	const live = fetched.filter((p) => p === '/console/live').length;
	assert.ok(live >= 1 && live <= 3, `the live part fetched ${live} times for 10 events: ${fetched.join(' ')}`);
	await page.context().close();
});

test('signed out elsewhere: when the socket closes, the console goes to the sign-in page instead of retrying', async () => {
	const page = await dashboard('DemoHelper', [recordSockets]);
	// Let the dashboard's first refresh (after the socket's `ready`) pass: it would find
	// the session gone by itself.
	await page.waitForTimeout(1000);
	// Another tab of the same browser signs out: the session is gone.
	const other = await page.context().newPage();
	await other.goto(`${helpline.url}/console`);
	await other.getByRole('button', { name: 'Sign out' }).click();
	await other.waitForURL(/\/console\/signin/);
	// The socket closes (the server may already have closed it: then the page may be on
	// its way to the sign-in page, with no socket left to close).
	await page.evaluate(() => window.consoleSockets?.at(-1)?.close()).catch(() => {});
	await page.waitForURL(/\/console\/signin/, { timeout: 10000 });
	await page.context().close();
});

test('the socket lost while still signed in: the console reconnects', async () => {
	const page = await dashboard('DemoHelper', [recordSockets]);
	await page.evaluate(() => window.consoleSockets.at(-1).close());
	await page.locator('#connection.conn-lost').waitFor();
	await page.locator('#connection.conn-live').waitFor({ timeout: 10000 });
	assert.match(page.url(), /\/console$/);
	await page.context().close();
});

test('one AudioContext, made at the first gesture, rings every new request', async () => {
	const page = await dashboard('DemoHelper', [() => {
		window.audioContexts = 0;
		window.tones = 0;
		const Native = window.AudioContext;
		window.AudioContext = class extends Native {
			constructor(...args) {
				super(...args);
				window.audioContexts++;
			}
			createOscillator() {
				window.tones++;
				return super.createOscillator();
			}
		};
		// Notifications allowed, without a desktop to show them on.
		window.Notification = class {
			static get permission() { return 'granted'; }
			static requestPermission() { return Promise.resolve('granted'); }
		};
	}]);
	await page.getByRole('button', { name: 'Notify me of new requests' }).click();
	for (let i = 1; i <= 10; i++) await ask(`Ring number ${i}, please.`);
	await page.waitForFunction(() => window.tones >= 10, null, { timeout: 15000 });
	assert.equal(await page.evaluate(() => window.audioContexts), 1, 'one AudioContext for all the rings');
	await page.context().close();
});

test('an error while handling a frame surfaces; only a frame that is not JSON is ignored', async () => {
	const created = await ask('A request to open while frames go wrong.');
	const page = await signIn('DemoHelper');
	await page.context().addInitScript(recordSockets);
	await page.goto(`${helpline.url}/console/conversations/${created.id}`);
	await page.locator('#connection.conn-live').waitFor();
	const errors = [];
	page.on('pageerror', (e) => errors.push(e.message));
	const deliver = (data) => page.evaluate((d) => window.consoleSockets.at(-1).dispatchEvent(new MessageEvent('message', { data: d })), data);
	await deliver('this is not JSON');
	await page.waitForTimeout(300);
	assert.deepEqual(errors, [], 'a frame that is not JSON is ignored');
	// A frame its handler cannot take: the error reaches window.onerror.
	await deliver(JSON.stringify({ type: 'viewers', conversation: created.id, helpers: 42 }));
	await waitUntil(() => errors.length > 0);
	assert.match(errors[0], /filter/);
	await page.context().close();
});

async function waitUntil(check, timeout = 5000) {
	const deadline = Date.now() + timeout;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not met in time');
		await new Promise((r) => setTimeout(r, 50));
	}
}

test('no console page needed anything its Content Security Policy refuses', () => {
	assert.ok(helpline.cspViolations, 'the console was used in the tests above');
	assert.deepEqual(helpline.cspViolations, []);
});
