// The gadget on a real MediaWiki 1.39: installed by `helpline wiki install-gadget` through
// the wiki's API with an interface-admin bot password; the way
// in is on screen without opening any menu in vector-2022, legacy vector, minerva at
// phone width, and Timeless and MonoBook at desktop and phone width, and the first click
// opens the dialog, whose buttons keep their colours against the skin's and whose Send
// is within reach; it works logged out and logged in (the name arrives as a claim); the
// Helpline server is contacted only after the click; Escape in the wiki's own fields
// never leaves the page; the helper sees what the wiki says about the account the
// request came from; and in the chat, a logged-in reader confirms their name through the
// wiki's OAuth (a stand-in provider: Debian does not package the OAuth extension), names
// the account they have trouble with, and accepts the move to their talk page, which
// the site's bot posts on the real wiki.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Helpline } from '../lib/helpline.js';
import { Smtpd } from '../lib/smtpd.js';
import { launch, inViewport, ASSETS_FROM_WORKTREE, worktreeAsset, rewrapLoader } from '../lib/browser.js';
import { startWiki, stopWiki, editPages, blockUser, MW_URL, READER, GADGET_BOT } from '../lib/mediawiki.js';

let helpline;
let browser;
let oauth;
let smtpd;

/** The test double of the wiki's OAuth 2.0 provider (authorization code with PKCE):
 * whoever comes is the wiki's READER, as a wiki would say of its logged-in reader. */
async function oauthStandIn() {
	const challenges = new Map();
	const json = (res, body) => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(JSON.stringify(body)); };
	const server = createServer(async (req, res) => {
		const url = new URL(req.url, 'http://127.0.0.1');
		if (url.pathname === '/authorize') {
			const code = `code${challenges.size}`;
			challenges.set(code, url.searchParams.get('code_challenge'));
			const back = `${url.searchParams.get('redirect_uri')}?code=${code}&state=${encodeURIComponent(url.searchParams.get('state'))}`;
			res.writeHead(302, { Location: back });
			return res.end();
		}
		if (url.pathname === '/access_token') {
			let body = '';
			for await (const chunk of req) body += chunk;
			const form = new URLSearchParams(body);
			const challenge = challenges.get(form.get('code'));
			challenges.delete(form.get('code'));
			const expected = createHash('sha256').update(form.get('code_verifier') || '').digest('base64url');
			if (!challenge || challenge !== expected) { res.writeHead(400); return res.end('bad code or verifier'); }
			return json(res, { access_token: 'at-reader', token_type: 'Bearer' });
		}
		if (url.pathname === '/resource/profile') return json(res, { sub: '2', username: READER.name });
		res.writeHead(404);
		res.end();
	});
	await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
	return server;
}

before(async () => {
	await startWiki();
	oauth = await oauthStandIn();
	const provider = `http://127.0.0.1:${oauth.address().port}`;
	const origins = [MW_URL, MW_URL.replace('127.0.0.1', 'localhost')];
	// With mail, so that the chat offers answers through the wiki's e-mail.
	smtpd = await new Smtpd().start();
	helpline = await new Helpline(`${smtpd.config()}
[[queues]]
id = "demo"
name = "Demo help team"

[[sites]]
id = "testwiki"
name = "Test Wiki"
language = "en"
queue = "demo"
api_url = "${MW_URL}/api.php"
allowed_origins = ${JSON.stringify(origins)}
emergency_contact = "emergency@example.org"

[sites.bot]
username = "${GADGET_BOT.login}"
password = "${GADGET_BOT.password}"

[sites.oauth]
client_id = "wiki-client"
authorize_url = "${provider}/authorize"
token_url = "${provider}/access_token"
profile_url = "${provider}/resource/profile"
`).start();
	const installed = await helpline.run(['wiki', 'install-gadget', '--site', 'testwiki', '--server', helpline.url]);
	assert.match(installed, /pages written|in step with this server/);
	if (ASSETS_FROM_WORKTREE) {
		const listing = await helpline.run(['gadget', '--site', 'testwiki', '--server', helpline.url, '--out-dir', `${helpline.dataDir}/gadget`]);
		const pairs = listing.trim().split('\n').map((line) => line.split('\t'));
		useWorktreeAssets(pairs);
		await editPages(pairs.filter(([title]) => title !== 'MediaWiki:Gadgets-definition'));
	}
	browser = await launch();
});

after(async () => {
	await browser?.close();
	await helpline?.stop();
	oauth?.close();
	await smtpd?.stop();
	await stopWiki();
});

/** HELPLINE_E2E_ASSETS=worktree: the gadget pages get the work tree's scripts and styles. */
function useWorktreeAssets(pairs) {
	for (const [title, file] of pairs) {
		if (title === 'MediaWiki:Gadget-helpline-core.js') writeFileSync(file, worktreeAsset('widget/helpline.js'));
		if (title === 'MediaWiki:Gadget-helpline-core.css') writeFileSync(file, worktreeAsset('widget/helpline.css'));
		if (title === 'MediaWiki:Gadget-helpline.js') writeFileSync(file, rewrapLoader(readFileSync(file, 'utf8')));
	}
}

/** Opens a wiki page, counting every request to the Helpline server. */
async function openWiki(context, path) {
	const page = await context.newPage();
	const contacted = [];
	page.on('request', (r) => { if (r.url().startsWith(helpline.url)) contacted.push(r.url()); });
	await page.goto(`${MW_URL}${path}`);
	return { page, contacted };
}

/** The way in on screen as the page opens: the portlet link where it is inside the
 * viewport, else the floating button — which must then be there. */
async function wayIn(page) {
	const link = page.locator('#helpline-get-help a');
	const button = page.locator('#helpline-fab');
	await page.locator('#helpline-get-help, #helpline-fab').first().waitFor({ state: 'attached' });
	if ((await link.count()) && (await link.isVisible()) && (await inViewport(link))) return link;
	await button.waitFor({ state: 'visible', timeout: 5000 });
	assert.equal(await inViewport(button), true, 'the floating button is on screen');
	return button;
}

/** The computed colours of the dialog's three buttons. */
async function buttonColours(dialog) {
	const colours = {};
	for (const name of ['Quick exit', 'Cancel', 'Send']) {
		colours[name] = await dialog.getByRole('button', { name }).evaluate((el) => {
			const s = getComputedStyle(el);
			return `${s.backgroundColor} on ${s.color}`;
		});
	}
	return colours;
}

// As on the demo page, which no skin styles (Codex-like, light scheme).
const COLOURS = {
	'Quick exit': 'rgb(215, 51, 51) on rgb(255, 255, 255)',
	Cancel: 'rgb(248, 249, 250) on rgb(32, 33, 34)',
	Send: 'rgb(51, 102, 204) on rgb(255, 255, 255)',
};

async function askForHelp(page, contacted, text) {
	assert.deepEqual(contacted, [], 'nothing is fetched from Helpline before the click');
	await (await wayIn(page)).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	await dialog.waitFor();
	await dialog.getByText('Test Wiki help team at').waitFor();
	await dialog.getByLabel('What is happening?').fill(text);
	// Nobody is online, so e-mail is offered first: these readers choose the chat.
	await dialog.getByRole('radio', { name: 'Chat here now' }).check();
	await dialog.getByRole('button', { name: 'Send' }).click();
	await page.getByRole('complementary', { name: 'Help chat' }).getByText('Connected').waitFor();
}

async function conversationWith(text) {
	const queue = await helpline.helper('GET', '/v1/helper/queue');
	const item = queue.conversations.find((c) => c.preview === text);
	assert.ok(item, `a conversation "${text}" is in the queue`);
	assert.equal(item.site, 'testwiki');
	return helpline.helper('GET', `/v1/helper/conversations/${item.id}`);
}

test('vector-2022, logged out: the way in is visible without opening a menu', async () => {
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	const { page, contacted } = await openWiki(context, '/index.php/Main_Page');
	assert.ok(await page.locator('body.skin-vector-2022').count());
	await askForHelp(page, contacted, 'Help from vector-2022');
	const conversation = await conversationWith('Help from vector-2022');
	assert.equal(conversation.username, undefined, 'logged out: no name');
	await context.close();
});

test('legacy vector: the link sits in the visible Tools portlet', async () => {
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	const { page, contacted } = await openWiki(context, '/index.php?title=Main_Page&useskin=vector');
	assert.ok(await page.locator('body.skin-vector-legacy').count());
	const way = await wayIn(page);
	assert.equal(await way.evaluate((el) => el.closest('#p-tb') !== null), true, 'in the Tools portlet');
	await askForHelp(page, contacted, 'Help from legacy vector');
	await conversationWith('Help from legacy vector');
	await context.close();
});

test('minerva at phone width (no p-tb): the floating button is the way in', async () => {
	const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
	const { page, contacted } = await openWiki(context, '/index.php?title=Main_Page&useskin=minerva');
	assert.ok(await page.locator('body.skin-minerva').count());
	assert.equal(await page.locator('#p-tb').count(), 0);
	const way = await wayIn(page);
	assert.equal(await way.getAttribute('id'), 'helpline-fab');
	await askForHelp(page, contacted, 'Help from minerva');
	await conversationWith('Help from minerva');
	await context.close();
});

for (const skin of ['timeless', 'monobook']) {
	for (const [width, height] of [[1280, 900], [360, 640]]) {
		test(`${skin} at ${width} px: the way in is on screen, opens at the first click, the buttons keep their colours, Send is in reach`, async () => {
			const phone = width < 500;
			const context = await browser.newContext({ viewport: { width, height }, ...(phone ? { isMobile: true, hasTouch: true } : {}) });
			const { page, contacted } = await openWiki(context, `/index.php?title=Main_Page&useskin=${skin}`);
			assert.ok(await page.locator(`body.skin-${skin}`).count());
			assert.deepEqual(contacted, [], 'nothing is fetched from Helpline before the click');
			await (await wayIn(page)).click();
			const dialog = page.getByRole('dialog', { name: 'Get help' });
			await dialog.waitFor({ timeout: 5000 });
			await dialog.getByText('Test Wiki help team at').waitFor();
			assert.deepEqual(await buttonColours(dialog), COLOURS);
			if (!phone) {
				// Hovered too (Timeless colours hovered buttons with a stronger rule).
				await dialog.getByRole('button', { name: 'Cancel' }).hover();
				assert.equal((await buttonColours(dialog)).Cancel, 'rgb(255, 255, 255) on rgb(32, 33, 34)', 'Cancel, hovered');
				await dialog.getByRole('button', { name: 'Quick exit' }).hover();
				assert.equal((await buttonColours(dialog))['Quick exit'], COLOURS['Quick exit'], 'Quick exit, hovered');
			}
			for (const name of ['Send', 'Cancel', 'Quick exit']) {
				assert.equal(await inViewport(dialog.getByRole('button', { name })), true, `${name} is on screen`);
			}
			const text = `Help from ${skin} at ${width} px`;
			await dialog.getByLabel('What is happening?').fill(text);
			await dialog.getByRole('radio', { name: 'Chat here now' }).check();
			await dialog.getByRole('button', { name: 'Send' }).click();
			await page.getByRole('complementary', { name: 'Help chat' }).getByText('Connected').waitFor();
			await conversationWith(text);
			await context.close();
		});
	}
}

test('an edit in progress survives Escape pressed twice in the wiki\'s own fields after the dialog was cancelled', async () => {
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	const { page } = await openWiki(context, '/index.php?title=Sandbox&action=edit');
	const editUrl = page.url();
	await (await wayIn(page)).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	await dialog.getByRole('button', { name: 'Cancel' }).click();
	await dialog.waitFor({ state: 'detached' });
	const box = page.locator('#wpTextbox1');
	await box.fill('A careful edit, half done.');
	await box.press('Escape');
	await box.press('Escape');
	await page.waitForTimeout(1000);
	assert.equal(page.url(), editUrl, 'still on the edit page after Escape twice in the edit box');
	await page.locator('#searchInput, input[name="search"]').first().focus();
	await page.keyboard.press('Escape');
	await page.keyboard.press('Escape');
	await page.waitForTimeout(1000);
	assert.equal(page.url(), editUrl, 'still on the edit page after Escape twice in the search box');
	assert.equal(await box.inputValue(), 'A careful edit, half done.');
	await context.close();
});

/** A browser context logged in to the wiki as READER, and that page. */
async function loggedIn() {
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	const page = await context.newPage();
	await page.goto(`${MW_URL}/index.php?title=Special:UserLogin`);
	await page.locator('#wpName1').fill(READER.name);
	await page.locator('#wpPassword1').fill(READER.password);
	await page.locator('#wpLoginAttempt').click();
	await page.waitForURL((url) => !url.href.includes('UserLogin'));
	return { context, page };
}

test('logged in: the user name arrives as a claim', async () => {
	const { context, page } = await loggedIn();
	const { page: wiki, contacted } = await openWiki(context, '/index.php/Main_Page');
	assert.equal(await wiki.evaluate(() => mw.config.get('wgUserName')), READER.name);
	await askForHelp(wiki, contacted, 'Help from a logged-in reader');
	const conversation = await conversationWith('Help from a logged-in reader');
	assert.equal(conversation.username, READER.name);
	assert.equal(conversation.username_temporary, false);
	await page.close();
	await context.close();
});

/** The console's wiki-context panel of the conversation `id`, once loaded. */
async function wikiPanel(id) {
	const consolePage = await helpline.signIn(browser, 'DemoHelper');
	await consolePage.goto(`${helpline.url}/console/conversations/${id}`);
	const panel = consolePage.getByRole('complementary', { name: 'On the wiki' });
	await panel.getByText('Edits', { exact: true }).waitFor();
	return { consolePage, panel };
}

test('the helper sees the logged-in reader\'s wiki account, from the wiki itself', async () => {
	const queue = await helpline.helper('GET', '/v1/helper/queue');
	const item = queue.conversations.find((c) => c.preview === 'Help from a logged-in reader');
	const { consolePage, panel } = await wikiPanel(item.id);
	const text = await panel.innerText();
	assert.match(text, /Reader/);
	assert.match(text, /Not blocked/);
	assert.match(text, /Groups\s+user/);
	assert.match(text, /a claim, not proof/);
	const contributions = panel.getByRole('link', { name: 'Contributions' });
	assert.equal(await contributions.getAttribute('href'), `${MW_URL}/index.php?title=Special%3AContributions%2FReader`);
	await consolePage.context().close();
});

test('a block on the wiki shows in the panel, with who blocked and why', async () => {
	await blockUser('Troublemaker', 'Harassing other editors');
	// The request as the widget makes it from the wiki, naming the account.
	const response = await fetch(`${helpline.url}/v1/conversations`, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', Origin: MW_URL },
		body: JSON.stringify({ site: 'testwiki', lang: 'en', text: 'I was blocked after reporting harassment', username: 'Troublemaker' }),
	});
	assert.equal(response.status, 201);
	const { id } = await response.json();
	const { consolePage, panel } = await wikiPanel(id);
	const text = await panel.innerText();
	assert.match(text, /Blocked by Admin, until \d{4}-\d\d-\d\dT/);
	assert.match(text, /Harassing other editors/);
	await consolePage.context().close();
});

test('in the chat: "Confirm it\'s you" through the wiki, the account named, and the move to the talk page accepted and posted by the bot', async () => {
	const { context } = await loggedIn();
	const { page, contacted } = await openWiki(context, '/index.php/Main_Page');
	const text = 'Someone writes on my talk page every day';
	await askForHelp(page, contacted, text);
	const chat = page.getByRole('complementary', { name: 'Help chat' });

	await chat.getByText('Is one account causing this?').click();
	await chat.getByLabel('Its user name').fill('Troublemaker');
	await chat.getByRole('button', { name: 'Tell the team' }).click();
	await chat.getByText('Noted: you have trouble with Troublemaker.', { exact: false }).waitFor();

	const confirm = chat.getByRole('button', { name: "Confirm it's you" });
	const opened = page.waitForEvent('popup');
	await confirm.click();
	const popup = await opened;
	await popup.getByText(`You are confirmed as ${READER.name}.`, { exact: false }).waitFor();
	await chat.getByText(`Confirmed through the wiki: you are ${READER.name}.`).waitFor();
	await confirm.waitFor({ state: 'hidden' });
	// Confirmed, the reader may have answers through the wiki's e-mail; this account has
	// no address on the wiki, and the chat says what to do instead.
	await chat.getByRole('button', { name: "Answer me through the wiki's e-mail" }).click();
	await chat.getByText('Your wiki account does not take e-mail from other users', { exact: false }).waitFor();

	const { id } = await conversationWith(text);
	const evidence = await helpline.helper('GET', `/v1/helper/conversations/${id}/evidence`);
	assert.equal(evidence.account, 'Troublemaker');
	assert.equal(evidence.requester_verified, true);
	await helpline.helper('POST', `/v1/helper/conversations/${id}/claim`, {});
	// The helper's panel: the name confirmed, the account, and the move drafted there.
	const { consolePage, panel } = await wikiPanel(id);
	await panel.getByText('confirmed through the wiki').waitFor();
	await panel.getByText(/Troublemaker — \d+ names kept away from this conversation/).waitFor();
	await panel.getByText('No edits of that account touch the requester in the last 30 days.').waitFor();
	const heading = `Help from the team ${Date.now()}`;
	await panel.getByLabel('Section heading').fill(heading);
	await panel.getByLabel('Opening (wikitext)').fill('We talked about the messages on your talk page.');
	await panel.getByRole('button', { name: 'Propose to the requester' }).click();
	await panel.getByText('Move: proposed').waitFor();
	await consolePage.context().close();
	const card = chat.getByRole('region', { name: `Continue on your talk page, User talk:${READER.name}?` });
	await card.waitFor();
	assert.match(await card.locator('pre').innerText(), /We talked about the messages on your talk page\.\n\nDemoHelper of the help team will continue with you here\. ~~~~/);
	await card.getByRole('button', { name: 'Yes, post it' }).click();
	await chat.getByText('The conversation continues on your talk page:', { exact: false }).waitFor();
	await card.waitFor({ state: 'hidden' });

	const read = await fetch(`${MW_URL}/api.php?action=query&prop=revisions&rvprop=content|user&rvslots=main&format=json&formatversion=2&titles=${encodeURIComponent(`User talk:${READER.name}`)}`);
	const revision = (await read.json()).query.pages[0].revisions[0];
	assert.match(revision.slots.main.content, new RegExp(`== ${heading} ==`));
	assert.match(revision.slots.main.content, /DemoHelper of the help team will continue with you here\./);
	const closed = await helpline.helper('GET', `/v1/helper/conversations/${id}`);
	assert.equal(closed.outcome, 'moved_to_talk_page');
	await context.close();
});
