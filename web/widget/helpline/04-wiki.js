	/* Part 4b of the widget script (web/widget/helpline/, joined in name order): the wiki in the chat —
	 * "Confirm it's you", answers through the wiki's e-mail, the move to the talk page,
	 * naming the account one has trouble with, and asking for another helper. */

	/* o: t, settings, call(method, what, body) → promise, helperName() → name or null */
	function WikiTools(o) {
		var t = o.t, user = wikiUser(), verified = false;
		var error = el('p', { class: 'helpline-error', role: 'alert', hidden: 'hidden' });
		function fail(err) { error.textContent = err.message || errorText(t, err); error.hidden = false; }
		function ok() { error.hidden = true; }

		/* "Confirm it's you": the wiki asks, in a window of its own, and sends it back. */
		var confirm = el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-chat-confirm'), hidden: 'hidden' });
		if (o.settings.confirm_identity && user && !user.temporary) { confirm.hidden = false; }
		confirm.addEventListener('click', function () {
			// Opened before the answer comes, so the browser counts it as the click's window.
			var win = w.open('about:blank', 'helpline-verify', 'popup,width=520,height=680');
			o.call('POST', 'verify').then(function (answer) {
				ok();
				if (win) { win.location.href = answer.authorize_url; } else { w.location.assign(answer.authorize_url); }
			}, function (err) { if (win) { win.close(); } fail(err); });
		});

		/* Once confirmed: answers through the wiki's own e-mail, which keeps the address. */
		var wikiMail = el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-wiki-mail-button'), 'aria-describedby': 'helpline-wiki-mail-help', hidden: 'hidden' });
		var wikiMailHelp = el('p', { id: 'helpline-wiki-mail-help', class: 'helpline-help', text: t('helpline-wiki-mail-help'), hidden: 'hidden' });
		var offersWikiMail = o.settings.confirm_identity && (o.settings.channels || []).indexOf('email') >= 0;
		function showWikiMail(shown) { wikiMail.hidden = !shown; wikiMailHelp.hidden = !shown; }
		wikiMail.addEventListener('click', function () {
			wikiMail.disabled = true;
			o.call('POST', 'wiki-mail').then(function () { ok(); showWikiMail(false); }, function (err) {
				wikiMail.disabled = false;
				fail(err.code === 'not_emailable' ? { message: t('helpline-error-not-emailable') } : err);
			});
		});

		/* The proposed move: the exact wikitext, then accept or decline. */
		var move = el('div', { class: 'helpline-move', role: 'region', 'aria-labelledby': 'helpline-move-title', hidden: 'hidden' });
		function showMove(m) {
			while (move.firstChild) { move.removeChild(move.firstChild); }
			if (!m || m.status !== 'proposed') { move.hidden = true; return; }
			var pre = el('pre', { class: 'helpline-wikitext', dir: 'auto', text: '== ' + m.section_title + ' ==\n' + m.wikitext });
			function answer(accept) {
				Array.prototype.forEach.call(move.querySelectorAll('button'), function (b) { b.disabled = true; });
				o.call('POST', 'talk-page/answer', { accept: accept }).then(function (v) { ok(); showMove(v); }, function (err) {
					fail(err);
					Array.prototype.forEach.call(move.querySelectorAll('button'), function (b) { b.disabled = false; });
				});
			}
			move.appendChild(el('h3', { id: 'helpline-move-title', text: t('helpline-chat-move-title', m.page) }));
			move.appendChild(pre);
			move.appendChild(el('div', { class: 'helpline-actions' }, [
				el('button', { type: 'button', class: 'helpline-primary', text: t('helpline-chat-move-accept'), onclick: function () { answer(true); } }),
				el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-chat-move-decline'), onclick: function () { answer(false); } })
			]));
			move.hidden = false;
		}
		function checkMove() {
			o.call('GET', 'talk-page').then(showMove, function () { showMove(null); });
		}

		/* The account one has trouble with: it, and who edited with it, never see this. */
		var account = el('input', { id: 'helpline-trouble-account', maxlength: '255', autocomplete: 'off' });
		var trouble = el('details', { class: 'helpline-trouble' }, [
			el('summary', { text: t('helpline-chat-trouble-summary') }),
			el('p', { class: 'helpline-help', text: t('helpline-chat-trouble-help') }),
			el('label', { for: 'helpline-trouble-account', text: t('helpline-chat-trouble-label') }), account,
			el('div', { class: 'helpline-actions' }, [el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-chat-trouble-send'), onclick: function () {
				if (!account.value.trim()) { return; }
				o.call('POST', 'trouble', { account: account.value.trim() }).then(function () { ok(); account.value = ''; trouble.open = false; }, fail);
			} })])
		]);

		/* Someone else, please: the current helper steps back, another continues. */
		var other = el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-chat-other-helper'), hidden: 'hidden' });
		other.addEventListener('click', function () {
			var name = o.helperName();
			if (!name || !w.confirm(t('helpline-chat-other-helper-confirm', name))) { return; }
			o.call('POST', 'not-helped-by', { helper: name }).then(ok, fail);
		});

		return {
			node: el('div', { class: 'helpline-wiki' }, [move, error, trouble, el('div', { class: 'helpline-tools' }, [confirm, wikiMail, other]), wikiMailHelp]),
			checkMove: checkMove,
			/* A system message may be a proposal, a confirmation, a move done. */
			systemMessage: function (m) {
				checkMove();
				if (!verified && user && m.text && m.text.indexOf(user.name) !== -1 && o.settings.confirm_identity) {
					// The confirmation names the account; the button has done its work.
					verified = m.text === t('helpline-system-verified', user.name);
					if (verified) { confirm.hidden = true; showWikiMail(offersWikiMail); }
				}
			},
			applyStatus: function (st) {
				other.hidden = !(o.helperName() && st.status !== 'closed');
				if (st.status === 'closed') { confirm.hidden = true; trouble.hidden = true; showWikiMail(false); }
			}
		};
	}
