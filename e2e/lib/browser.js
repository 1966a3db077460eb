// Debian's Chromium, driven by playwright-core, headless and without network noise.
import { chromium } from 'playwright-core';

export async function launch() {
	return chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		headless: true,
		args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
	});
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
