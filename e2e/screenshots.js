// Takes the reviewers' screenshot set of the widget into docs/screenshots/:
// dialog, chat, right-to-left, phone width, and the e-mail confirmation (the server
// here has outbound mail, to a local SMTP server, so the dialog offers both channels).
// Run: node screenshots.js
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Helpline } from './lib/helpline.js';
import { launch } from './lib/browser.js';
import { Smtpd } from './lib/smtpd.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'screenshots');
mkdirSync(out, { recursive: true });
const smtpd = await new Smtpd().start();
const helpline = await new Helpline(smtpd.config()).start();
const browser = await launch();
try {
	const desktop = await browser.newPage({ viewport: { width: 1280, height: 860 } });
	await desktop.goto(`${helpline.url}/demo`);
	await desktop.getByRole('button', { name: 'Get help' }).click();
	await desktop.getByLabel('What is happening?').fill('Someone follows me from article to article, reverts everything I do and leaves insults on my talk page. I do not know what to do.');
	await desktop.getByRole('radio', { name: 'Chat here now' }).check();
	await desktop.screenshot({ path: join(out, 'widget-dialog.png'), animations: 'disabled' });
	await desktop.getByRole('button', { name: 'Send' }).click();
	await desktop.getByRole('complementary').waitFor();
	const waiting = await helpline.waitingConversation();
	await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/claim`);
	await helpline.helper('POST', `/v1/helper/conversations/${waiting.id}/messages`, { client_id: 's1', text: 'Hello, I am here with you. Could you tell me the name of one of the articles?' });
	const chat = desktop.getByRole('complementary');
	await chat.getByText('Could you tell me').waitFor();
	await chat.getByLabel('Your message').fill('Yes, it is the article about steam locomotives.');
	await chat.getByLabel('Your message').press('Enter');
	await chat.getByText('Delivered').first().waitFor();
	await desktop.screenshot({ path: join(out, 'widget-chat.png'), animations: 'disabled' });

	const rtl = await browser.newPage({ viewport: { width: 1280, height: 860 } });
	await rtl.goto(`${helpline.url}/demo`);
	await rtl.evaluate(() => { document.documentElement.lang = 'he'; window.dispatchEvent(new Event('helpline:open')); });
	await rtl.getByRole('dialog').waitFor();
	await rtl.screenshot({ path: join(out, 'widget-dialog-hebrew.png'), animations: 'disabled' });

	const phone = await browser.newPage({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
	await phone.goto(`${helpline.url}/demo`);
	await phone.screenshot({ path: join(out, 'widget-phone-button.png'), animations: 'disabled' });
	await phone.getByRole('button', { name: 'Get help' }).click();
	await phone.getByRole('dialog').waitFor();
	await phone.screenshot({ path: join(out, 'widget-phone-dialog.png'), animations: 'disabled' });

	const mail = await browser.newPage({ viewport: { width: 1280, height: 860 } });
	await mail.goto(`${helpline.url}/demo`);
	await mail.getByRole('button', { name: 'Get help' }).click();
	await mail.getByRole('radio', { name: 'By e-mail' }).check();
	await mail.getByLabel('What is happening?').fill('An editor I disagreed with now writes about me on other wikis.');
	await mail.getByLabel('Your e-mail address, for this matter only').fill('reader@example.org');
	await mail.getByRole('button', { name: 'Send' }).click();
	await mail.getByRole('heading', { name: 'Your request has been sent' }).waitFor();
	await mail.screenshot({ path: join(out, 'widget-email-confirmation.png'), animations: 'disabled' });

	// The helper console: the dashboard with requests waiting, and a conversation.
	const linkOut = await helpline.run(['helper', 'link', 'DemoHelper']);
	const token = /token=(mlk_\S+)/.exec(linkOut)[1];
	const console_ = await browser.newPage({ viewport: { width: 1280, height: 860 } });
	await console_.goto(`${helpline.url}/console/signin/link?token=${token}`);
	await console_.getByRole('button', { name: 'Continue as DemoHelper' }).click();
	await console_.getByText('Signed in as DemoHelper').waitFor();
	await console_.reload();
	await console_.getByText('Someone follows me from article to article').waitFor();
	await console_.screenshot({ path: join(out, 'console-dashboard.png'), animations: 'disabled' });
	await console_.locator('section', { has: console_.getByRole('heading', { name: 'Your open conversations' }) }).getByRole('link', { name: /^Open/ }).first().click();
	await console_.getByLabel('Internal note').fill('Same pattern as the report on the noticeboard last week.');
	await console_.getByRole('button', { name: 'Add note' }).click();
	await console_.getByText('Internal note by DemoHelper').waitFor();
	await console_.getByLabel('Answer (the person sees this)').fill('Thank you. I have found the article; I will look at the edit history now.');
	await console_.screenshot({ path: join(out, 'console-conversation.png'), fullPage: true, animations: 'disabled' });
	await console_.getByRole('button', { name: 'Send', exact: true }).click();
	await console_.getByLabel('Close as').selectOption('resolved');
	await console_.getByRole('button', { name: 'Close', exact: true }).click();
	await console_.getByText('This conversation is closed.').waitFor();
	await console_.goto(`${helpline.url}/console/stats?days=7`);
	await console_.getByRole('img', { name: 'Conversations per day' }).waitFor();
	await console_.screenshot({ path: join(out, 'console-statistics.png'), fullPage: true, animations: 'disabled' });
} finally {
	await browser.close();
	await helpline.stop();
	await smtpd.stop();
}
console.log(`screenshots written to ${out}`);
