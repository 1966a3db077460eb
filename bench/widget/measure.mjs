// Widget benchmark (not a test): loader and widget sizes gzipped, and the time from a
// click on "Get help" to the dialog being visible, in Debian's Chromium over loopback.
// Writes its figures to docs/PERFORMANCE.md between the bench:widget markers.
//   cargo build --release && node bench/widget/measure.mjs [runs]
import { gzipSync } from 'node:zlib';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
process.env.HELPLINE_BIN ||= join(root, 'target', 'release', 'helpline');
const { Helpline } = await import(join(root, 'e2e', 'lib', 'helpline.js'));
const { launch } = await import(join(root, 'e2e', 'lib', 'browser.js'));

const runs = Number(process.argv[2] || 40);
const helpline = await new Helpline().start();
const browser = await launch();
const gz = async (path) => gzipSync(Buffer.from(await (await fetch(helpline.url + path)).arrayBuffer()), { level: 9 }).length;
const sizes = {
	loader: await gz('/widget.js?site=demo'),
	js: await gz('/widget/helpline.js'),
	css: await gz('/widget/helpline.css'),
};
const times = [];
try {
	for (let i = 0; i < runs; i++) {
		// A fresh context each time: nothing cached, as for a first click.
		const context = await browser.newContext();
		const page = await context.newPage();
		await page.goto(`${helpline.url}/demo`);
		await page.locator('#helpline-fab').waitFor();
		const ms = await page.evaluate(() => new Promise((resolve) => {
			const start = performance.now();
			const seen = new MutationObserver(() => {
				const dialog = document.querySelector('dialog.helpline-dialog[open]');
				if (dialog && dialog.getBoundingClientRect().height > 0) {
					seen.disconnect();
					requestAnimationFrame(() => resolve(performance.now() - start));
				}
			});
			seen.observe(document.body, { childList: true, subtree: true, attributes: true });
			document.getElementById('helpline-fab').click();
		}));
		times.push(ms);
		await context.close();
	}
} finally {
	await browser.close();
	await helpline.stop();
}
times.sort((a, b) => a - b);
const pick = (q) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)];
const kb = (n) => `${(n / 1024).toFixed(2)} KB`;
const report = `<!-- bench:widget:start -->
## Widget: sizes and click → dialog

- Date: ${new Date().toISOString().slice(0, 10)} (UTC)
- Machine: ${cpus().length} CPUs (${cpus()[0].model}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM; Chromium headless and the server on the same machine, over loopback
- Command: \`cargo build --release && node bench/widget/measure.mjs ${runs}\`
- Click → dialog: from the click on the floating "Get help" button on \`/demo\` (fresh browser context each run: the widget script, its styles and the widget settings are fetched after the click) to the dialog laid out and painted; ${runs} runs

| Figure | Measured | Target |
| --- | --- | --- |
| Loader, gzipped | ${kb(sizes.loader)} | ≤ 2 KB: ${sizes.loader <= 2048 ? 'met' : 'not met'} |
| Widget JS + CSS, gzipped | ${kb(sizes.js + sizes.css)} (JS ${kb(sizes.js)}, CSS ${kb(sizes.css)}) | ≤ 25 KB: ${sizes.js + sizes.css <= 25600 ? 'met' : 'not met'} |
| Click → dialog, median | ${pick(0.5).toFixed(1)} ms | ≤ 100 ms: ${pick(0.5) <= 100 ? 'met' : 'not met'} |
| Click → dialog, p99 / max | ${pick(0.99).toFixed(1)} ms / ${times[times.length - 1].toFixed(1)} ms | |
<!-- bench:widget:end -->`;
console.log(report);
const doc = join(root, 'docs', 'PERFORMANCE.md');
let text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Performance\n';
const section = /<!-- bench:widget:start -->[\s\S]*?<!-- bench:widget:end -->/;
text = section.test(text) ? text.replace(section, report) : `${text.trimEnd()}\n\n${report}\n`;
writeFileSync(doc, text);
