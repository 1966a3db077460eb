// Debian's Chromium, driven by playwright-core, headless and without network noise.
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

/**
 * HELPLINE_E2E_ASSETS=worktree: the browser gets the widget's and the console's scripts
 * and styles from web/ in the work tree instead of the copies embedded in the binary, so
 * they can be changed and tested without rebuilding. Texts (i18n/) and templates still
 * come from the binary. Unset for every real run.
 */
export const ASSETS_FROM_WORKTREE = process.env.HELPLINE_E2E_ASSETS === 'worktree';

/** A file of web/; `widget/helpline.js` is the widget's parts (web/widget/helpline/)
 * joined in name order, as the server joins them. */
export function worktreeAsset(path) {
	if (path === 'widget/helpline.js') {
		const dir = join(web, 'widget', 'helpline');
		return readdirSync(dir).filter((f) => f.endsWith('.js')).sort().map((f) => readFileSync(join(dir, f), 'utf8')).join('');
	}
	return readFileSync(join(web, path), 'utf8');
}

/** The loader as the server wraps it — `LOADER)(SETTINGS);` — around the work tree's loader.js. */
export function rewrapLoader(served) {
	return worktreeAsset('widget/loader.js').trimEnd() + served.slice(served.lastIndexOf(')({'));
}

async function serveWorktreeAssets(context) {
	const file = (path, contentType) => (route) => route.fulfill({ contentType, body: worktreeAsset(path) });
	await context.route(/\/widget\/helpline\.js$/, file('widget/helpline.js', 'text/javascript'));
	await context.route(/\/widget\/helpline\.css$/, file('widget/helpline.css', 'text/css'));
	await context.route(/\/console\/assets\/console\.js$/, file('console/console.js', 'text/javascript'));
	await context.route(/\/console\/assets\/console\.css$/, file('console/console.css', 'text/css'));
	await context.route(/\/widget\.js\?site=/, async (route) => {
		const response = await route.fetch();
		await route.fulfill({ response, body: rewrapLoader(await response.text()) });
	});
}

export async function launch() {
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
	});
	if (ASSETS_FROM_WORKTREE) {
		const newContext = browser.newContext.bind(browser);
		browser.newContext = async (options) => {
			const context = await newContext(options);
			await serveWorktreeAssets(context);
			return context;
		};
	}
	return browser;
}

/** The widget's storage in this page: every key it owns, session and local. */
export async function helplineStorage(page) {
	return page.evaluate(() => {
		const keys = [];
		for (const store of [sessionStorage, localStorage]) {
			for (let i = 0; i < store.length; i++) if (store.key(i).startsWith('helpline')) keys.push(store.key(i));
		}
		return keys;
	});
}

/** Waits until `check()` (async) is true, polling; fails after `timeout` ms. */
export async function waitFor(check, timeout = 15000, what = 'condition') {
	const deadline = Date.now() + timeout;
	for (;;) {
		if (await check()) return;
		if (Date.now() > deadline) throw new Error(`${what} not met in ${timeout} ms`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

/** Whether the element's box lies wholly inside the viewport, as the page is now. */
export async function inViewport(locator) {
	return locator.evaluate((el) => {
		const r = el.getBoundingClientRect();
		return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
	});
}
