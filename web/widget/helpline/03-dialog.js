	/* Part 3 of the widget script (web/widget/helpline/, joined in name order): Dialog: the request form, then the e-mail confirmation. */

	/* ---------- Dialog ---------- */

	function teamsPart(s, t) {
		if (!s.other_teams.length) { return null; }
		return el('div', { class: 'helpline-other' }, [
			el('p', { text: t('helpline-dialog-other-teams') }),
			el('ul', { class: 'helpline-teams' }, s.other_teams.map(function (team) {
				var contact = team.link ? el('a', { href: team.link, target: '_blank', rel: 'noopener', text: team.label }) :
					el('a', { href: 'mailto:' + team.email, text: team.label });
				return el('li', {}, [contact, ' — ' + team.description]);
			}))
		]);
	}

	function topicPart(s, t) {
		var options = s.topics.map(function (tp) { return el('option', { value: tp.id, text: tp.label }); });
		if (!s.topics.some(function (tp) { return tp.id === 'other'; })) { options.push(el('option', { value: 'other', text: '…' })); }
		var select = el('select', { id: 'helpline-topic', name: 'topic' }, options);
		var node = s.topics.length ? el('div', { class: 'helpline-field' }, [el('label', { for: 'helpline-topic', text: t('helpline-dialog-topic-label') }), select]) : null;
		return { node: node, value: function () { return select.value || 'other'; } };
	}

	/* The text box: counter and hard limit in characters, the live personal-data hint. */
	function textPart(s, t, looksPersonal, prefill) {
		var limit = s.limits.first_message_chars;
		var text = el('textarea', { id: 'helpline-text', name: 'text', rows: '6', required: 'required', 'aria-describedby': 'helpline-counter helpline-privacy' });
		var counter = el('p', { id: 'helpline-counter', class: 'helpline-counter' });
		var limitNotice = el('p', { class: 'helpline-visually-hidden', 'aria-live': 'polite' });
		var personal = el('p', { class: 'helpline-warning', id: 'helpline-personal', role: 'status', hidden: 'hidden', text: t('helpline-dialog-personal-data') });
		function update() {
			var chars = Array.from(text.value);
			if (chars.length > limit) {
				chars = chars.slice(0, limit);
				text.value = chars.join('');
			}
			var full = chars.length >= limit;
			counter.textContent = t('helpline-dialog-counter', chars.length, limit);
			counter.classList.toggle('helpline-counter-full', full);
			limitNotice.textContent = full ? t('helpline-dialog-counter-full', limit) : '';
			personal.hidden = !looksPersonal(text.value);
		}
		text.addEventListener('input', update);
		if (prefill && codePoints(prefill) <= limit) { text.value = prefill; }
		update();
		return {
			input: text,
			node: el('div', { class: 'helpline-field' }, [
				el('label', { for: 'helpline-text', text: t('helpline-dialog-text-label') }),
				el('p', { id: 'helpline-privacy', class: 'helpline-privacy', text: t('helpline-dialog-privacy') }),
				text, counter, limitNotice, personal
			])
		};
	}

	/* How to answer (chat or e-mail) and the address, only when the server offers e-mail.
	 * Logged-out (and temporary) users may leave an address for a chat too; anyone who
	 * chooses to be answered by e-mail must. */
	function channelPart(s, t, user) {
		var offersEmail = s.channels.indexOf('email') >= 0;
		if (!offersEmail) { return { nodes: [], channel: function () { return s.channels[0]; }, email: function () { return ''; }, emailInput: null }; }
		var optional = !user || user.temporary;
		var inputs = [];
		var email = el('input', { id: 'helpline-email', type: 'email', name: 'email', autocomplete: 'email', 'aria-describedby': 'helpline-email-help' });
		var label = el('label', { for: 'helpline-email' });
		var field = el('div', { class: 'helpline-field' }, [label, email, el('p', { id: 'helpline-email-help', class: 'helpline-help', text: t('helpline-dialog-email-help') })]);
		function channel() {
			var chosen = inputs.filter(function (i) { return i.checked; })[0];
			return chosen ? chosen.value : s.channels[0];
		}
		function changed() {
			var byEmail = channel() === 'email';
			field.hidden = !byEmail && !optional;
			label.textContent = t(byEmail ? 'helpline-dialog-email-required-label' : 'helpline-dialog-email-label');
			if (byEmail) { email.setAttribute('required', 'required'); } else { email.removeAttribute('required'); }
		}
		var choice = s.channels.length < 2 ? null : el('fieldset', { class: 'helpline-channels' },
			[el('legend', { text: t('helpline-dialog-channel-legend') })].concat(s.channels.map(function (c, i) {
				var input = el('input', { type: 'radio', name: 'channel', id: 'helpline-channel-' + c, value: c, onchange: changed });
				input.checked = i === 0;
				inputs.push(input);
				return el('span', { class: 'helpline-check' }, [input, el('label', { for: input.id, text: t('helpline-dialog-channel-' + c) })]);
			})));
		changed();
		return {
			nodes: [choice, field],
			channel: channel,
			email: function () { return field.hidden ? '' : email.value.trim(); },
			emailInput: email
		};
	}

	function noTracePart(t) {
		var box = el('input', { id: 'helpline-notrace', type: 'checkbox', name: 'notrace', 'aria-describedby': 'helpline-notrace-help' });
		return {
			node: el('div', { class: 'helpline-check' }, [box, el('label', { for: 'helpline-notrace', text: t('helpline-dialog-notrace-label') }),
				el('p', { id: 'helpline-notrace-help', class: 'helpline-help', text: t('helpline-dialog-notrace-help') })]),
			checked: function () { return box.checked; }
		};
	}

	/* The scrolling middle of the form: what the service is, who is there, the fields. */
	function dialogBody(o, p, user, error) {
		var s = o.settings, t = o.t;
		return el('div', { class: 'helpline-body' }, [
			el('p', { text: t('helpline-dialog-intro') }),
			el('p', { class: 'helpline-availability', text: s.availability.summary }),
			teamsPart(s, t), p.topic.node, p.text.node
		].concat(p.channels.nodes, [
			user ? el('p', { class: 'helpline-help', text: t('helpline-dialog-logged-in-as', user.name) }) : null,
			p.noTrace.node,
			el('p', { class: 'helpline-help', text: t('helpline-dialog-service', s.site.name, o.host) }),
			error
		]));
	}

	/* The request the form describes, or what is missing and the field to go to. */
	function requestFrom(o, p, user) {
		if (!p.text.input.value.trim()) { return { problem: errorText(o.t, { code: 'empty_text' }), field: p.text.input }; }
		var channel = p.channels.channel();
		if (channel === 'email' && !p.channels.email()) { return { problem: errorText(o.t, { code: 'email_required' }), field: p.channels.emailInput }; }
		var request = { site: o.site, lang: o.lang, topic: p.topic.value(), text: p.text.input.value, channel: channel };
		if (p.channels.email()) { request.email = p.channels.email(); }
		if (user) { request.username = user.name; request.username_temporary = user.temporary; }
		return { request: request };
	}

	/* The request form in a native modal <dialog>: a head (title, quick exit), a body that
	 * scrolls, and an action bar that always stays in view (a full-height sheet on phones).
	 * o: settings, t, site, lang, host, looksPersonal, exitButton, prefill, create(body), onChat(created, noTrace), onClose() */
	function Dialog(o) {
		var s = o.settings, t = o.t, user = wikiUser(), closed = false;
		var p = { topic: topicPart(s, t), text: textPart(s, t, o.looksPersonal, o.prefill), channels: channelPart(s, t, user), noTrace: noTracePart(t) };
		var error = el('p', { class: 'helpline-error', role: 'alert', hidden: 'hidden' });
		var send = el('button', { type: 'submit', class: 'helpline-primary', text: t('helpline-dialog-send') });
		var cancel = el('button', { type: 'button', class: 'helpline-quiet', text: t('helpline-dialog-cancel'), onclick: function () { close(); } });
		var form = el('form', { method: 'dialog', class: 'helpline-form', novalidate: 'novalidate' }, [
			el('div', { class: 'helpline-head' }, [el('h2', { id: 'helpline-title', text: t('helpline-dialog-title') }), o.exitButton()]),
			dialogBody(o, p, user, error),
			el('div', { class: 'helpline-actions helpline-footer' }, [cancel, send])
		]);
		var dialog = el('dialog', { id: 'helpline-dialog', class: 'helpline-dialog helpline-root', 'aria-labelledby': 'helpline-title', dir: s.dir, lang: s.lang }, [form]);

		function fail(message, field) {
			error.textContent = message;
			error.hidden = false;
			if (field) { field.focus(); }
		}
		function sent(request, created) {
			if (request.channel !== 'email') { o.onChat(created, p.noTrace.checked()); return; }
			var done = emailConfirmation(o, request.email, created.urgent, close);
			form.parentNode.replaceChild(done, form);
			done.querySelector('h2').focus();
		}
		function submit(e) {
			e.preventDefault();
			error.hidden = true;
			var asked = requestFrom(o, p, user);
			if (asked.problem) { fail(asked.problem, asked.field); return; }
			send.disabled = true;
			send.textContent = t('helpline-dialog-sending');
			o.create(asked.request).then(function (created) { sent(asked.request, created); }, function (err) {
				// The text stays where it is; only the error is shown.
				fail(errorText(t, err));
				send.disabled = false;
				send.textContent = t('helpline-dialog-send');
			});
		}
		function close(keepFocus) {
			if (closed) { return; }
			closed = true;
			if (dialog.open) { dialog.close(); }
			detach(dialog);
			o.onClose(keepFocus);
		}
		form.addEventListener('submit', submit);
		dialog.addEventListener('close', function () { close(); });
		d.body.appendChild(dialog);
		dialog.showModal();
		p.text.input.focus();
		return { node: dialog, close: close };
	}

	/* After a request to be answered by e-mail: what happens next, said once. No chat,
	 * and nothing of it is kept in this browser. */
	function emailConfirmation(o, address, urgent, close) {
		var t = o.t;
		return el('div', { class: 'helpline-form helpline-confirmation' }, [
			el('div', { class: 'helpline-head' }, [el('h2', { id: 'helpline-title', tabindex: '-1', text: t('helpline-email-confirm-title') }), o.exitButton()]),
			el('div', { class: 'helpline-body' }, [
				urgent ? urgentNotice(t, o.settings.emergency_contact, false) : null,
				el('p', { text: t('helpline-email-confirm-text', address) }),
				el('p', { text: t('helpline-email-confirm-next') })
			]),
			el('div', { class: 'helpline-actions helpline-footer' }, [
				el('button', { type: 'button', class: 'helpline-primary', text: t('helpline-email-confirm-close'), onclick: function () { close(); } })
			])
		]);
	}

	function urgentNotice(t, contact, hidden) {
		return el('div', { class: 'helpline-urgent', role: 'alert', hidden: hidden ? 'hidden' : null }, [
			el('strong', { text: t('helpline-urgent-title') }), el('p', { text: contact })
		]);
	}
