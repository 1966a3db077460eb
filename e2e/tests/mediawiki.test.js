// The gadget on a real MediaWiki 1.39: installed through the wiki's own pages; the way
// in is visible without opening any menu in vector-2022, legacy vector and minerva at
// phone width; it works logged out and logged in (the name arrives as a claim); and the
// Helpline server is contacted only after the click; the helper sees what the wiki says
// about the account the request came from.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Helpline } from '../lib/helpline.js';
import { launch } from '../lib/browser.js';
import { startWiki, stopWiki, editPages, blockUser, MW_URL, READER } from '../lib/mediawiki.js';

let helpline;
let browser;

before(async () => {
	await startWiki();
	const origins = [MW_URL, MW_URL.replace('127.0.0.1', 'localhost')];
	helpline = await new Helpline(`
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
`).start();
	const listing = await helpline.run(['gadget', '--site', 'testwiki', '--server', helpline.url, '--out-dir', `${helpline.dataDir}/gadget`]);
	const pairs = listing.trim().split('\n').map((line) => line.split('\t'));
	assert.ok(pairs.some(([title]) => title === 'MediaWiki:Gadget-helpline-core.js'));
	await editPages(pairs);
	browser = await launch();
});

after(async () => {
	await browser?.close();
	await helpline?.stop();
	await stopWiki();
});

/** Opens a wiki page, counting every request to the Helpline server. */
async function openWiki(context, path) {
	const page = await context.newPage();
	const contacted = [];
	page.on('request', (r) => { if (r.url().startsWith(helpline.url)) contacted.push(r.url()); });
	await page.goto(`${MW_URL}${path}`);
	return { page, contacted };
}

/** The visible way in: the portlet link where it is shown, else the floating button. */
async function wayIn(page) {
	const link = page.locator('#helpline-get-help a');
	const button = page.locator('#helpline-fab');
	await page.locator('#helpline-get-help, #helpline-fab').first().waitFor({ state: 'attached' });
	if (await link.isVisible()) return link;
	await button.waitFor({ state: 'visible' });
	return button;
}

async function askForHelp(page, contacted, text) {
	assert.deepEqual(contacted, [], 'nothing is fetched from Helpline before the click');
	await (await wayIn(page)).click();
	const dialog = page.getByRole('dialog', { name: 'Get help' });
	await dialog.waitFor();
	await dialog.getByText('Test Wiki help team at').waitFor();
	await dialog.getByLabel('What is happening?').fill(text);
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

test('logged in: the user name arrives as a claim', async () => {
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	const page = await context.newPage();
	await page.goto(`${MW_URL}/index.php?title=Special:UserLogin`);
	await page.locator('#wpName1').fill(READER.name);
	await page.locator('#wpPassword1').fill(READER.password);
	await page.locator('#wpLoginAttempt').click();
	await page.waitForURL((url) => !url.href.includes('UserLogin'));
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
	await panel.getByText('Edits').waitFor();
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
