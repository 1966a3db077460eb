// XSS: a corpus of classic payloads pushed through every text field a requester, a helper,
// a coordinator or the operator can fill, then rendered wherever it is shown — the widget
// on /demo (the Get-help dialog and the chat) and the helper console — in Chromium.
// Nothing may run: no call of window.__xss (every payload calls it, and alert, if it ever
// runs), no alert, no CSP violation (one would mean something tried). The widget's page
// ignores /demo's own policy, as a wiki's page may allow inline script; the console keeps
// its CSP, which would stop an injected script — so the DOM is checked too: no element a
// payload makes ([data-xss], on… attributes, frames, inline scripts, javascript: URLs).
// And every value must be on screen as literal text where it is shown, so that the test
// is not vacuous (checked: with one render point switched to innerHTML, it fails).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Helpline } from '../lib/helpline.js';
import { launch, waitFor } from '../lib/browser.js';

// Each payload is made for a marker `k` (a field's code and the payload's number): if it
// runs, it calls __xss(k) (and often alert(k)); if parsed as markup, its elements carry
// data-xss=k. At most 120 characters, the shortest limit of a free-text field here.
const CORPUS = [
	(k) => `<script data-xss="${k}">__xss('${k}');alert('${k}')</script>`,
	(k) => `<img src=x data-xss=${k} onerror="__xss('${k}');alert('${k}')">`,
	(k) => `<svg data-xss=${k} onload=__xss('${k}')><animate onbegin=__xss('${k}') attributeName=x dur=1s>`,
	(k) => `"><img src=x data-xss=${k} onerror=__xss('${k}')>`,
	(k) => `'><img src=x data-xss=${k} onerror=__xss('${k}')>`,
	(k) => `" autofocus onfocus="__xss('${k}')" data-xss="${k}`,
	(k) => `' autofocus onfocus='__xss(\`${k}\`)' data-xss='${k}`,
	(k) => `javascript:__xss('${k}');alert('${k}')//`,
	(k) => `'-__xss('${k}')-'";__xss('${k}');//`,
	(k) => `{{7*7}} \${7*7} #{7*7} <%= 7*7 %> {{constructor.constructor('__xss("${k}")')()}}`,
	(k) => `</textarea></title></style></script><img src=x data-xss=${k} onerror=__xss('${k}')>`,
	(k) => `<iframe data-xss=${k} srcdoc="<script>parent.__xss('${k}')</script>"></iframe>`,
	(k) => `[${k}](javascript:__xss('${k}')) <a data-xss=${k} href="javascript:__xss('${k}')">${k}</a>`,
	(k) => `&lt;img src=x onerror=__xss('${k}')&gt; &#60;b data-xss=${k}&#62;${k}`,
	(k) => `\u202E\u2066${k}\u2069 <img src=x data-xss=${k} onerror=__xss('${k}')>\u200B end`,
	(k) => `<math><mtext><table><mglyph><style><img src=x data-xss=${k} onerror=__xss('${k}')>`,
	(k) => `<details open data-xss=${k} ontoggle=__xss('${k}')>`,
];
const at = (code, i) => CORPUS[i](code + String(i).padStart(2, '0'));
const all = (code) => CORPUS.map((_, i) => at(code, i));
// Helper names cannot hold # < > [ ] | { } (wiki user names): the payloads that fit.
const NAMES = [
	`N0" autofocus onfocus="__xss('N0');alert('N0')" data-xss="N0`,
	`N1' autofocus onfocus='__xss(/N1/)' data-xss='N1`,
	`javascript:__xss('N2');alert('N2')//`,
	`N3'-__xss('N3')-'";__xss('N3');// $(7*7) @(7*7)`,
	`\u202EN4\u2066 &lt;img src=x onerror=__xss('N4')&gt; &amp;\u2069`,
];
// What only the operator sets, in helpline.toml.
const SITE_NAME = [0, 3, 6].map((i) => at('site', i)).join(' ');
const QUEUE_NAME = [1, 4].map((i) => at('queue', i)).join(' ');
const APPLY_QUEUE = [2, 5].map((i) => at('applyq', i)).join(' ');
const EMERGENCY = [11, 15].map((i) => at('emerg', i)).join(' ');
const TOPICS = all('topic');
// What the people fill in.
const CLAIM = at('claim', 5); // the wiki user name the widget says the reader is
const FIRST = at('wfirst', 0);
const TROUBLE = at('acct', 1);
const THANKS = at('thanks', 2);
const STATEMENT = at('stmt', 3);
const REASON = at('why', 4);
const TEAM_LINK = (i) => `https://example.org/tl${i}?"><svg/onload=__xss('tl${i}')>`;
const TEAM_MAIL = (i) => `"<img/src=x/onerror=__xss('tm${i}')>"@example.org`;
const pad = (i) => String(i).padStart(2, '0');

// A TOML basic string is a JSON string (JSON.stringify writes no `\/`).
const toml = JSON.stringify;
const CONFIG = `
[limits]
conversations_per_hour_per_network = 1000
messages_per_minute_per_token = 1000
requests_per_minute_per_network = 100000

[[queues]]
id = "demo"
name = ${toml(QUEUE_NAME)}

[[queues]]
id = "applyq"
name = ${toml(APPLY_QUEUE)}
[queues.eligibility]
site = "wikisite"
min_edits = 1
approval = "alternative"

[[sites]]
id = "demo"
name = ${toml(SITE_NAME)}
language = "en"
queue = "demo"
emergency_contact = ${toml(EMERGENCY)}
topics = [${TOPICS.map((label, i) => `{ id = "t${pad(i)}", label = ${toml(label)} }`).join(', ')}]

# Only for a queue that takes applications; its wiki (a closed port) never answers.
[[sites]]
id = "wikisite"
name = "Wiki"
language = "en"
queue = "applyq"
api_url = "http://127.0.0.1:9/w/api.php"
emergency_contact = "112"
`;

let helpline;
let browser;
const hits = []; // __xss(k) calls: payloads that ran
const violations = []; // securitypolicyviolation events
const alerts = []; // alert/prompt dialogs (a confirm is the widget's own, and accepted)
const confirms = [];
const tally = { views: 0, checks: 0 };

before(async () => {
	helpline = await new Helpline(CONFIG).start();
	await helpline.run(['helper', 'add', 'Coordinator', '--queue', 'applyq', '--coordinator']);
	browser = await launch();
});

after(async () => {
	await browser?.close();
	await helpline?.stop();
});

/** A new page in a new context, with the probes in place before any script of the page. */
async function newPage(init) {
	// withoutCsp: MediaWiki sends no policy by default, so an injection in the widget would run.
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: !!init?.withoutCsp });
	await context.exposeFunction('__xss', (k) => { hits.push(String(k)); });
	await context.exposeFunction('__csp', (v) => { violations.push(v); });
	await context.addInitScript(() => document.addEventListener('securitypolicyviolation', (e) =>
		window.__csp(`${e.effectiveDirective} ${e.blockedURI} ${e.sample} on ${location.pathname}`)));
	if (init) await context.addInitScript(init.script, init.arg);
	context.on('dialog', (d) => {
		if (d.type() === 'confirm') { confirms.push(d.message()); d.accept().catch(() => {}); return; }
		alerts.push(`${d.type()}: ${d.message()}`);
		d.dismiss().catch(() => {});
	});
	return context.newPage();
}

const norm = (s) => s.replace(/\s+/g, ' ').trim();
const waitText = (page, text, timeout = 15000) =>
	page.waitForFunction((t) => document.body.innerText.replace(/\s+/g, ' ').includes(t), norm(text), { timeout });

/**
 * The checks of one view: nothing a payload would make is in the DOM; every `expected`
 * value is shown as literal text (text on screen, form values, options, the title);
 * no `absent` value is.
 */
async function audit(page, where, expected = [], absent = []) {
	await page.waitForTimeout(150); // an injected onload/onerror/onfocus/ontoggle would have fired
	const { bad, text } = await page.evaluate(() => {
		const bad = [];
		for (const el of document.querySelectorAll('*')) {
			const names = el.getAttributeNames();
			const jsUrl = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data'].some((n) => /^\s*javascript:/i.test(el.getAttribute(n) || ''));
			if (jsUrl || names.some((n) => n.startsWith('on') || n === 'data-xss' || n === 'srcdoc') ||
				/^(IFRAME|FRAME|OBJECT|EMBED)$/.test(el.tagName) || (el.tagName === 'SCRIPT' && !el.src)) bad.push(el.outerHTML.slice(0, 160));
		}
		const values = [...document.querySelectorAll('input, textarea')].map((e) => e.value);
		const options = [...document.querySelectorAll('option')].map((o) => o.text);
		return { bad, text: [document.title, document.body.innerText, ...values, ...options].join('\n') };
	});
	assert.deepEqual(bad, [], `${where}: markup made from a payload`);
	const seen = norm(text);
	assert.deepEqual(expected.filter((e) => !seen.includes(norm(e))), [], `${where}: not shown as literal text`);
	assert.deepEqual(absent.filter((e) => seen.includes(norm(e))), [], `${where}: shown where it must not be`);
	tally.views++;
	tally.checks += expected.length;
}

/** Submits a console form (found by its action) as a page load, without the browser's
 * own checks of the fields (an attacker skips them too); it must be refused iff `refused`. */
async function submit(page, action, fields, button, refused = false) {
	const form = page.locator(`form[action$="${action}"]`).last();
	await form.evaluate((f) => { f.noValidate = true; });
	for (const [name, value] of Object.entries(fields)) {
		const field = form.locator(`[name="${name}"]`);
		if (await field.evaluate((e) => e.tagName === 'SELECT')) await field.selectOption(value);
		else await field.fill(value);
	}
	const press = button ? form.getByRole('button', { name: button }) : form.locator('button').last();
	await Promise.all([page.waitForNavigation(), press.click()]);
	const error = await page.getByRole('heading', { name: 'That did not work' }).count();
	assert.equal(error, refused ? 1 : 0, `${action}: ${norm(await page.locator('main').innerText())}`);
}

async function signIn(link) {
	const page = await newPage();
	await page.goto(link);
	await Promise.all([page.waitForURL(/\/console$/), page.getByRole('button', { name: /^Continue as/ }).click()]);
	return page;
}
const linkFor = async (name) => `${helpline.url}/console/signin/link?token=${/token=(mlk_\S+)/.exec(await helpline.run(['helper', 'link', name]))[1]}`;

async function ask(body) {
	const response = await fetch(`${helpline.url}/v1/conversations`, {
		method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ site: 'demo', lang: 'en', ...body }),
	});
	return { status: response.status, json: await response.json() };
}

let coord; // DemoHelper, coordinator of the demo queue
const invited = []; // one-time sign-in links of the helpers named by NAMES
const teams = CORPUS.map((_, i) => ({
	id: `team${pad(i)}`, title: at('tlabel', i), text: at('tdesc', i),
	link: i % 2 ? '' : TEAM_LINK(i), email: i % 2 ? TEAM_MAIL(i) : '',
}));

test('what coordinators fill in the console: canned replies, other teams, helper names', async () => {
	coord = await signIn(await linkFor('DemoHelper'));
	await coord.goto(`${helpline.url}/console/sites/demo`);
	for (let i = 0; i < CORPUS.length; i++) {
		await submit(coord, '/reply-save', { id: `r${pad(i)}`, title: at('rtitle', i), text: at('rtext', i) });
	}
	for (const team of teams) await submit(coord, '/team-save', team);
	// A javascript: link is refused, with the reason, and the page says which link.
	await submit(coord, '/reply-save', { id: 'bad', title: 'Bad', text: 'Bad', link: `javascript:__xss('rlink')` }, null, true);
	await audit(coord, 'refused reply link', [`javascript:__xss('rlink')`]);
	await coord.goto(`${helpline.url}/console/sites/demo`);
	await submit(coord, '/team-save', { id: 'bad', title: 'Bad', text: 'Bad', link: ` JavaScript:__xss('tlink')`, email: '' }, null, true);
	await audit(coord, 'refused team link', [`JavaScript:__xss('tlink')`]);

	await coord.goto(`${helpline.url}/console/sites/demo`);
	await coord.locator('details').evaluateAll((ds) => ds.forEach((d) => { d.open = true; }));
	await audit(coord, 'replies and teams', [SITE_NAME, ...all('rtitle'), ...all('rtext'),
		...teams.flatMap((t) => [t.title, t.text, t.link, t.email].filter(Boolean))]);

	await coord.goto(`${helpline.url}/console/team`);
	for (const name of NAMES) {
		await submit(coord, '/team/invite', { name });
		invited.push(await coord.locator('.notice input').inputValue());
		await audit(coord, 'invitation', [name]);
	}
	await audit(coord, 'team', [...NAMES, QUEUE_NAME]);
});

let widget; // the reader's page on /demo
let chat;
let mine; // that conversation: { id, token }
const view = () => helpline.helper('GET', `/v1/helper/conversations/${mine.id}`);
const send = (text, i, internal = false) => helpline.helper('POST', `/v1/helper/conversations/${mine.id}/messages`, { client_id: `x${i}${internal}`, text, internal });

test('what a reader fills in the widget, and what helpers answer, shown on both sides', async () => {
	// Conversations through the API, one per payload: first message, user name, topic.
	for (let i = 0; i < CORPUS.length; i++) {
		const { status, json } = await ask({ text: at('first', i), username: at('user', i), topic: `t${pad(i)}` });
		assert.equal(status, 201, JSON.stringify(json));
	}
	assert.equal((await ask({ text: 'x', topic: at('tid', 0) })).status, 400, 'a topic must be one of the site');

	// The reader, logged in on the wiki as CLAIM (mw.config, as the gadget has it).
	widget = await newPage({ script: (name) => {
		window.mw = { config: { get: (k) => (k === 'wgUserName' ? name : null) }, user: { isTemp: () => false } };
	}, arg: CLAIM, withoutCsp: true });
	await widget.goto(`${helpline.url}/demo`);
	await audit(widget, 'demo page', [SITE_NAME]);
	await widget.getByRole('button', { name: 'Get help' }).click();
	const dialog = widget.getByRole('dialog', { name: 'Get help' });
	await dialog.waitFor();
	await audit(widget, 'dialog', [SITE_NAME, CLAIM, ...TOPICS, ...teams.flatMap((t) => [t.title, t.text])]);
	await dialog.locator('#helpline-topic').selectOption('t07');
	await dialog.getByLabel('What is happening?').fill(FIRST);
	await dialog.getByRole('button', { name: 'Send' }).click();
	chat = widget.locator('#helpline-chat');
	await chat.locator('.helpline-conn-live').waitFor();
	mine = await widget.evaluate(() => JSON.parse(sessionStorage.getItem('helpline:demo')));
	const input = chat.getByLabel('Your message');
	for (const text of [...all('req'), 'He threatened to kill me.']) {
		await input.fill(text);
		await input.press('Enter');
	}
	await waitFor(async () => (await view()).messages.filter((m) => m.author_role === 'requester').length === CORPUS.length + 2, 15000, 'every message stored');

	// DemoHelper takes it and answers: some by the console's forms, the rest by the API.
	await coord.goto(`${helpline.url}/console/conversations/${mine.id}`);
	await coord.getByRole('button', { name: 'Take this conversation' }).click();
	const answer = coord.getByLabel('Answer (the person sees this)');
	const replies = all('reply');
	const notes = all('note');
	for (const text of replies.slice(0, 3)) {
		await answer.fill(text);
		await coord.getByRole('button', { name: 'Send', exact: true }).click();
		await waitText(coord, text);
	}
	const canned = await coord.locator('#reply-list button.insert').first().getAttribute('data-insert');
	await coord.locator('#reply-list button.insert').first().click();
	assert.equal(await answer.inputValue(), canned, 'a canned reply is inserted as it is');
	await coord.getByRole('button', { name: 'Send', exact: true }).click();
	await coord.getByLabel('Internal note').fill(notes[0]);
	await coord.getByRole('button', { name: 'Add note' }).click();
	for (let i = 3; i < replies.length; i++) await send(replies[i], i);
	for (let i = 1; i < notes.length; i++) await send(notes[i], i, true);
	await waitText(coord, notes.at(-1));
	await audit(coord, 'conversation, owned', [FIRST, ...all('req'), ...replies, canned, ...notes, TOPICS[7], SITE_NAME, CLAIM,
		APPLY_QUEUE, ...NAMES, ...teams.map((t) => t.title), ...all('rtitle'), ...all('rtext')]);
	await waitText(widget, replies.at(-1));
	await waitText(widget, EMERGENCY);
	await audit(widget, 'chat', [FIRST, ...all('req'), ...replies, canned, EMERGENCY], notes);

	// The reader names the account they have trouble with.
	await chat.locator('.helpline-trouble summary').click();
	await chat.locator('#helpline-trouble-account').fill(TROUBLE);
	await chat.getByRole('button', { name: 'Tell the team' }).click();
	await waitText(widget, TROUBLE);
	await coord.reload(); // the panel is fetched once per page
	await coord.locator('#wiki-context bdi').nth(1).waitFor();
	await audit(coord, 'wiki context panel', [CLAIM, TROUBLE]);
});

test('helper names reach the reader: hand-overs along helpers named by the corpus', async () => {
	let previous = coord;
	for (const [j, name] of NAMES.entries()) {
		const page = await signIn(invited[j]);
		await audit(page, `dashboard of ${name}`, [name, QUEUE_NAME]);
		await previous.locator('#to-helper').selectOption(name);
		await previous.getByRole('button', { name: 'Hand over', exact: true }).click();
		await previous.getByText('Another helper has this conversation').waitFor();
		await page.goto(`${helpline.url}/console/conversations/${mine.id}`);
		await page.getByLabel('Answer (the person sees this)').fill(`Helper number ${j} here.`);
		await page.getByRole('button', { name: 'Send', exact: true }).click();
		await waitText(widget, `Helper number ${j} here.`);
		await audit(page, `conversation of ${name}`, [name, ...NAMES.filter((n) => n !== name)]);
		if (previous !== coord) await previous.context().close();
		previous = page;
	}
	const last = previous;
	await last.goto(`${helpline.url}/console/settings`);
	await audit(last, 'settings', [NAMES.at(-1)]);
	await audit(widget, 'chat, after hand-overs', NAMES);
	await coord.goto(`${helpline.url}/console`);
	await waitText(coord, NAMES.at(-1));
	await audit(coord, 'dashboard', [...all('first'), ...TOPICS, NAMES.at(-1), QUEUE_NAME, SITE_NAME]);

	// The reader would rather have another helper: the confirm names the helper, as text.
	await chat.getByRole('button', { name: 'I\'d rather another helper' }).click();
	await waitFor(async () => confirms.length === 1, 5000, 'the confirm');
	assert.ok(confirms[0].includes(NAMES.at(-1)), confirms[0]);
	await waitText(widget, `Noted: ${NAMES.at(-1)} will not see this conversation.`);
	await last.context().close();

	// DemoHelper takes it again and redirects it to a team; the reader thanks.
	await coord.goto(`${helpline.url}/console/conversations/${mine.id}`);
	await coord.getByRole('button', { name: 'Take this conversation' }).click();
	await coord.locator('#team').selectOption('team00');
	await coord.getByRole('button', { name: 'Redirect', exact: true }).click();
	const team = [teams[0].title, teams[0].text, teams[0].link];
	await waitText(widget, teams[0].link);
	await audit(widget, 'chat, redirected', [...NAMES, TROUBLE, ...team], all('note'));
	await chat.getByLabel('A few words for your helper (optional)').fill(THANKS);
	await chat.locator('form.helpline-thanks').getByRole('button', { name: 'Send' }).click();
	await chat.getByText('Thank you. Your helper will see this.').waitFor();

	await waitText(coord, teams[0].link);
	await audit(coord, 'conversation, closed', [FIRST, ...NAMES, TROUBLE, ...team, ...all('note')]);
	await coord.goto(`${helpline.url}/console`);
	await audit(coord, 'dashboard with thanks', [THANKS]);
	for (const item of (await helpline.helper('GET', '/v1/helper/queue?status=waiting')).conversations) {
		await coord.goto(`${helpline.url}/console/conversations/${item.id}`);
		const i = Number(item.topic.slice(1));
		await audit(coord, `request ${i}`, [at('first', i), at('user', i), TOPICS[i], SITE_NAME]);
	}
});

test('applications, statistics, and what the address bar carries', async () => {
	await coord.goto(`${helpline.url}/console/apply`);
	await audit(coord, 'apply', [APPLY_QUEUE]);
	await submit(coord, '/console/apply', { queue: 'applyq', statement: STATEMENT });
	await audit(coord, 'applied', [APPLY_QUEUE]);
	const coordinator = await signIn(await linkFor('Coordinator'));
	await coordinator.goto(`${helpline.url}/console/team`);
	await audit(coordinator, 'team with an application', [STATEMENT, APPLY_QUEUE]);
	await submit(coordinator, '/team/decide', { reason: REASON }, 'Decline DemoHelper');
	await audit(coordinator, 'team with a decision', [STATEMENT, REASON]);
	await coordinator.context().close();

	await coord.goto(`${helpline.url}/console/stats`);
	await audit(coord, 'statistics', [QUEUE_NAME]);
	// Query strings and paths reflected nowhere as markup.
	const q = encodeURIComponent(at('query', 3));
	for (const path of [`/console?queue=${q}&lang=${q}&site=${q}&uselang=${q}`, `/console/stats?queue=${q}&days=${q}`,
		`/console/conversations/${q}`, `/console/sites/${q}`, `/console/signin?uselang=${q}`]) {
		await coord.goto(helpline.url + path);
		await audit(coord, path);
	}
});

test('not one payload ran, became markup, or tripped the Content Security Policy', async (t) => {
	await new Promise((r) => setTimeout(r, 500)); // late calls of __xss are counted too
	t.diagnostic(`${CORPUS.length} payloads (+${NAMES.length} names); ${tally.views} views audited; ${tally.checks} values checked on screen`);
	assert.deepEqual(hits, [], 'payloads that ran');
	assert.deepEqual(alerts, [], 'alert dialogs');
	assert.deepEqual(violations, [], 'CSP violations');
});
