/* Helpline loader: adds the "Get help" way in and loads nothing else until it is used.
 * Written as ES5 so that MediaWiki 1.39's ResourceLoader accepts it as a gadget.
 * The server wraps it with this site's settings: (function (C) { … })(SETTINGS). */
(function (C) {
	'use strict';
	var d = document, w = window, mw = w.mw, key = 'helpline:' + C.site, loading = null;
	var HASH = '#get-help';

	function lang() {
		var l = (mw && mw.config && mw.config.get('wgUserLanguage')) ||
			(/[?&]uselang=([\w-]+)/.exec(location.search) || [])[1] ||
			d.documentElement.lang || 'en';
		return String(l).toLowerCase();
	}

	function label() {
		var l = lang();
		return C.labels[l] || C.labels[l.split('-')[0]] || C.labels.en;
	}

	function load() {
		if (!loading) {
			loading = new Promise(function (done, fail) {
				if (C.gadget) {
					mw.loader.using(C.gadget).then(done, fail);
					return;
				}
				var css = d.createElement('link');
				css.rel = 'stylesheet';
				css.href = C.server + '/widget/helpline.css';
				d.head.appendChild(css);
				var js = d.createElement('script');
				js.src = C.server + '/widget/helpline.js';
				js.onload = done;
				js.onerror = fail;
				d.head.appendChild(js);
			}).then(function () { return w.Helpline; });
			loading.catch(function () { loading = null; });
		}
		return loading;
	}

	/* A `#get-help` left in the address would open the dialog again on every reload. */
	function dropHash() {
		if (location.hash === HASH && w.history && w.history.replaceState) {
			w.history.replaceState(w.history.state, '', location.href.replace(/#.*$/, ''));
		}
	}

	function open(e) {
		if (e) {
			// One click may reach more than one of our listeners: it opens once.
			if (e.helplineHandled) { return; }
			e.helplineHandled = true;
			if (e.preventDefault) { e.preventDefault(); }
		}
		dropHash();
		load().then(function (H) { H.open(C, lang()); });
	}

	/* Any `<a href="#get-help">`, also one added after load. Listening while the click
	 * goes down (capture) means a skin that stops the click on its way up (as Timeless
	 * does in its sidebar) cannot swallow it. */
	function onClick(e) {
		var a = e.target && e.target.closest && e.target.closest('a[href="' + HASH + '"]');
		if (a) { open(e); }
	}

	/* Visible means: laid out, not hidden by style, its middle inside the viewport and
	 * inside every ancestor that clips — not far below the page (MonoBook on a phone puts
	 * its tools under the content) nor folded into a closed menu. */
	function shown(el) {
		if (!el || !el.getClientRects().length) { return false; }
		var r = el.getBoundingClientRect();
		var x = r.left + r.width / 2, y = r.top + r.height / 2;
		if (!r.width || !r.height || x < 0 || y < 0 || x > w.innerWidth || y > w.innerHeight) { return false; }
		for (var p = el; p && p !== d.body; p = p.parentElement) {
			var s = w.getComputedStyle(p);
			if (s.visibility === 'hidden' || s.display === 'none' || s.opacity === '0') { return false; }
			if (p !== el && (s.overflowX !== 'visible' || s.overflowY !== 'visible')) {
				var c = p.getBoundingClientRect();
				if (x < c.left || x > c.right || y < c.top || y > c.bottom) { return false; }
			}
		}
		return true;
	}

	function floatingButton() {
		var b = d.createElement('button');
		b.type = 'button';
		b.className = 'helpline-fab';
		b.id = 'helpline-fab';
		b.textContent = label();
		b.style.cssText = 'position:fixed;bottom:16px;inset-inline-end:16px;z-index:450;' +
			'padding:10px 16px;min-height:44px;border:0;border-radius:2px;background:#36c;color:#fff;' +
			'font:bold 14px/1.4 sans-serif;cursor:pointer;box-shadow:0 1px 4px rgba(0,0,0,.35)';
		b.addEventListener('click', open);
		d.body.appendChild(b);
	}

	function start() {
		var item = null, link = null;
		if (mw && mw.util && mw.util.addPortletLink && C.portlet) {
			item = mw.util.addPortletLink(C.portlet, HASH, label(), 'helpline-get-help', label());
			link = item && (item.querySelector('a') || item);
			// On the link itself as well: the first click opens, whatever the skin does.
			if (link) { link.addEventListener('click', open); }
		}
		// Where the portlet is missing, folded into a closed menu or off-screen, the
		// button is the way in.
		if (C.floating || !shown(link)) { floatingButton(); }
		d.addEventListener('click', onClick, true);
		w.addEventListener('hashchange', function () { if (location.hash === HASH) { open(); } });
		w.addEventListener('helpline:open', open);
		d.addEventListener('helpline:open', open);
		if (location.hash === HASH) { open(); }
		// A conversation of this browser tab is still open: bring the chat back.
		try {
			if (w.sessionStorage.getItem(key)) { load().then(function (H) { H.restore(C, lang()); }); }
		} catch (err) { /* storage blocked: nothing to restore */ }
	}

	function whenReady() {
		if (d.readyState === 'loading') { d.addEventListener('DOMContentLoaded', start); } else { start(); }
	}

	if (mw && mw.loader) { mw.loader.using('mediawiki.util').then(whenReady, whenReady); } else { whenReady(); }
}
