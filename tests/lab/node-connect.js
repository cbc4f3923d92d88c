// Node.js's own family autoselection (net.connect with autoSelectFamily,
// "happy eyeballs"), for the lab: libuv closes a socket it gives up on
// with the raw system call, which no wrapper sees, and the next attempt's
// socket gets the same number.
//
//   node node-connect.js connect HOST PORT [COUNT]
//   node node-connect.js fetch HOST PORT
//
// connect: COUNT (default 1) connections one after the other, each with its
// own lookup and autoselection, each sending a line the lab's server echoes;
// the first failure ends the series. fetch: fetch('http://HOST:PORT/').
// One line per connection, then the exit status (0 when all succeeded):
//   connected ADDRESS MS read echoed | fetched STATUS MS BODY
//   error CODE MS [ADDRESS:CODE ...] | error timeout MS
// Every connection is bounded (3 s, fetch 6 s): a failure never waits for
// the kernel.
'use strict';
const net = require('net');

const [mode, host, portText, countText] = process.argv.slice(2);
const port = Number(portText);
let t0, guard;

function start(limit) {
	t0 = Date.now();
	guard = setTimeout(() => {
		console.log(`error timeout ${Date.now() - t0}`);
		process.exit(1);
	}, limit);
}

function fail(err) {
	// An AggregateError (every address failed) lists each attempt.
	const each = (err.errors || [])
		.map((e) => `${e.address}:${e.code}`).join(' ');
	console.log(`error ${err.code || err.name} ${Date.now() - t0} ${each}`.trim());
	process.exit(1);
}

function connectOnce(left) {
	start(3000);
	// Node 20's defaults; said, for other versions.
	const s = net.connect({ host, port, autoSelectFamily: true,
				autoSelectFamilyAttemptTimeout: 250 });
	let got = '';
	s.on('error', fail);
	s.on('connect', () => s.write('echoed\n'));
	s.on('data', (d) => {
		got += d;
		if (!got.includes('\n'))
			return;
		clearTimeout(guard);
		console.log(`connected ${s.remoteAddress} ${Date.now() - t0} read ${got.trim()}`);
		s.destroy();
		if (left > 1)
			connectOnce(left - 1);
	});
}

if (mode === 'connect') {
	connectOnce(Number(countText || 1));
} else if (mode === 'fetch') {
	// fetch (undici) connects through net.connect with the defaults: the
	// autoselection, whatever this Node.js's own default.
	net.setDefaultAutoSelectFamily(true);
	net.setDefaultAutoSelectFamilyAttemptTimeout(250);
	// Loading undici takes a while more.
	start(6000);
	fetch(`http://${host}:${port}/`).then(async (r) => {
		const body = (await r.text()).trim();
		clearTimeout(guard);
		console.log(`fetched ${r.status} ${Date.now() - t0} ${body}`);
	}, (err) => fail(err.cause || err));
} else {
	console.error('usage: node node-connect.js connect HOST PORT [COUNT] | fetch HOST PORT');
	process.exit(2);
}
