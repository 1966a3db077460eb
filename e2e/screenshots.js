// Takes the reviewers' screenshot set of the widget into docs/screenshots/:
// dialog, chat, right-to-left, and phone width. Run: node screenshots.js
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Helpline } from './lib/helpline.js';
import { launch } from './lib/browser.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'screenshots');
mkdirSync(out, { recursive: true });
const helpline = await new Helpline().start();
const browser = await launch();
try {
	const desktop = await browser.newPage({ viewport: { width: 1280, height: 860 } });
	await desktop.goto(`${helpline.url}/demo`);
	await desktop.getByRole('button', { name: 'Get help' }).click();
	await desktop.getByLabel('What is happening?').fill('Someone follows me from article to article, reverts everything I do and leaves insults on my talk page. I do not know what to do.');
	await desktop.screenshot({ path: join(out, 'widget-dialog.png') });
	await desktop.getByRole('button', { name: 'Send' }).click();
	const waiting = await helpline.waitingConversation();
	await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/claim`);
	await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/messages`, { client_id: 's1', text: 'Hello, I am here with you. Could you tell me the name of one of the articles?' });
	const chat = desktop.getByRole('complementary');
	await chat.getByText('Could you tell me').waitFor();
	await chat.getByLabel('Your message').fill('Yes, it is the article about steam locomotives.');
	await chat.getByLabel('Your message').press('Enter');
	await chat.getByText('Delivered').first().waitFor();
	await desktop.screenshot({ path: join(out, 'widget-chat.png') });

	const rtl = await browser.newPage({ viewport: { width: 1280, height: 860 } });
	await rtl.goto(`${helpline.url}/demo`);
	await rtl.evaluate(() => { document.documentElement.lang = 'he'; window.dispatchEvent(new Event('helpline:open')); });
	await rtl.getByRole('dialog').waitFor();
	await rtl.screenshot({ path: join(out, 'widget-dialog-hebrew.png') });

	const phone = await browser.newPage({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
	await phone.goto(`${helpline.url}/demo`);
	await phone.screenshot({ path: join(out, 'widget-phone-button.png') });
	await phone.getByRole('button', { name: 'Get help' }).click();
	await phone.getByRole('dialog').waitFor();
	await phone.screenshot({ path: join(out, 'widget-phone-dialog.png') });
} finally {
	await browser.close();
	await helpline.stop();
}
console.log(`screenshots written to ${out}`);
