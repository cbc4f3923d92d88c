#!/usr/bin/python3
"""pending-calls: what a program does with a socket whose non-blocking
connect() is pending.

Reads strace output made with -f -tt -yy (tests/tools/pending-calls.sh makes
it) and prints, for every connect() that returned EINPROGRESS, the calls
that named that descriptor until poll(), select() or epoll said it was
ready, or it was closed or replaced: the calls a stand-in on that number
has to answer as a connecting socket would. A clone() without CLONE_FILES
or an execve() in that time is shown too (the child inherits the socket).

    pending-calls.py [--lib] TRACE...

--lib: the trace is of a program under softerr, whose connect() puts a
stand-in on the number with dup3() (not an end) and whose thread puts the
outcome there later; calls made by another thread say "(pid N)", and each
call on a file other than the socket says which ("[on pipe]").
Timestamps are the calls' starts; the list is in order of first call."""
import re, sys, collections

LINE = re.compile(r'^(\d+)\s+(\d\d:\d\d:\d\d\.\d+)\s+(.*)$')
CALL = re.compile(r'^([a-z_0-9]+)\((.*)\)\s+=\s+(.*)$')

def merged(lines):
    pend = {}
    for raw in lines:
        m = LINE.match(raw.rstrip('\n'))
        if not m:
            continue
        pid, ts, rest = m.groups()
        if rest.endswith('<unfinished ...>'):
            pend[pid] = (ts, rest[:-len('<unfinished ...>')].rstrip())
            continue
        if re.match(r'^[a-z_0-9]+\(', rest) and not re.search(r'\)\s+=\s', rest):
            pend[pid] = (ts, rest)      # cut off by the kill
            continue
        r = re.match(r'^<\.\.\. ([a-z_0-9]+) resumed>\s?(.*)$', rest)
        if r:
            if pid in pend:
                ts0, head = pend.pop(pid)
                yield pid, ts0, head + r.group(2)
            continue
        yield pid, ts, rest
    for pid, (ts, head) in pend.items():
        yield pid, ts, head + ') = ? (unfinished when the trace ended)'


def strip_ann(s):
    """Removes strace -yy annotations (3<TCP:[a->b]> becomes 3)."""
    out = []; i = 0; n = len(s)
    while i < n:
        c = s[i]
        if c == '<' and i > 0 and s[i-1].isdigit() and not s.startswith('<unfinished', i) and not s.startswith('<...', i):
            depth = 0; br = 0; j = i
            while j < n:
                if s[j] == '[': br += 1
                elif s[j] == ']': br -= 1
                elif s[j] == '<' and br == 0: depth += 1
                elif s[j] == '>' and br == 0:
                    depth -= 1
                    if depth == 0: break
                j += 1
            i = j + 1
            continue
        out.append(c); i += 1
    return ''.join(out)

def ann_of(args):
    """The -yy annotation of the first argument ("<TCP:[1234]>")."""
    m = re.match(r'^-?\d+', args)
    return args[len(m.group(0)):].split(', ')[0] if m else ''

def fdarg(args):
    m = re.match(r'^(-?\d+)(<[^>]*>)?', args)
    return (int(m.group(1)), m.group(2) or '') if m else (None, '')

def shorten(s, n=110):
    s = re.sub(r'<(TCP|TCPv6|UDP|UDPv6|pipe|socket|anon_inode)[^>]*>', lambda m: '<' + m.group(1) + '>', s)
    return s if len(s) <= n else s[:n] + '...'

def main(path):
    table = {}          # pid -> table id
    tables = {}         # table id -> {fd: window}
    nxt = [0]
    windows = []
    def tab(pid):
        if pid not in table:
            nxt[0] += 1; table[pid] = nxt[0]; tables[nxt[0]] = {}
        return tables[table[pid]]
    def end(w, ts, why):
        w['end'] = ts; w['why'] = why
    for pid, ts, rest in merged(open(path, errors='replace')):
        if rest.startswith('+++') or rest.startswith('---'):
            continue
        m = CALL.match(rest)
        if not m:
            continue
        name, rawargs, rawret = m.groups()
        args = strip_ann(rawargs); ret = strip_ann(rawret)
        t = tab(pid)
        # process creation: child shares or copies the table
        if name in ('clone', 'clone3', 'fork', 'vfork'):
            try:
                child = str(int(ret.split()[0]))
            except ValueError:
                child = None
            shares = 'CLONE_FILES' in args
            for fd, w in list(t.items()):
                if not shares:
                    w['calls'].append((ts, pid, name, shorten(name + '(' + args + ') = ' + ret), 'fork/clone without CLONE_FILES: child inherits the pending socket'))
            if child and int(child) > 0:
                if shares:
                    table[child] = table[pid]
                else:
                    nxt[0] += 1; table[child] = nxt[0]
                    tables[nxt[0]] = {fd: w for fd, w in t.items()}
            continue
        if name == 'execve':
            for fd, w in list(t.items()):
                w['calls'].append((ts, pid, name, shorten(name + '(' + args + ') = ' + ret), 'execve while pending'))
            continue
        fd, _ = fdarg(args)
        ann = ann_of(rawargs)
        if name == 'connect' and 'EINPROGRESS' in ret and fd is not None:
            a = re.search(r'inet_(?:addr|pton)\((?:AF_INET6?, )?"([^"]+)"', args)
            addr = a.group(1) if a else '?'
            w = {'pid': pid, 'fd': fd, 'addr': addr, 'start': ts, 'end': None, 'why': None, 'calls': [], 'ann': ann}
            windows.append(w)
            t[fd] = w
            continue
        if not t:
            continue
        # waits that name the descriptor
        if name in ('poll', 'ppoll'):
            for fd2, w in list(t.items()):
                if re.search(r'\{fd=%d(<[^>]*>)?, events=' % fd2, args):
                    ev = re.search(r'\{fd=%d(?:<[^>]*>)?, events=([A-Z|]+)' % fd2, args).group(1)
                    rv = re.search(r'\{fd=%d(?:<[^>]*>)?, revents=([A-Z|]+)' % fd2, ret)
                    w['calls'].append((ts, pid, name, '%s(events=%s) -> %s' % (name, ev, rv.group(1) if rv else ret.split()[0]), ''))
                    if rv and re.search(r'POLLOUT|POLLERR|POLLHUP', rv.group(1)):
                        end(w, ts, 'ready: ' + rv.group(1)); del t[fd2]
            continue
        if name in ('select', 'pselect6'):
            for fd2, w in list(t.items()):
                parts = args.split(', ')
                if re.search(r'\[(?:[0-9 ]* )?%d(?: [0-9 ]*)?\]' % fd2, args):
                    w['calls'].append((ts, pid, name, shorten(name + '(' + args + ') = ' + ret, 140), ''))
                    o = re.search(r'(out|exc) \[([0-9 ]*)\]', ret)
                    if o and str(fd2) in o.group(2).split():
                        end(w, ts, 'ready: select ' + o.group(1)); del t[fd2]
                    elif re.match(r'^[1-9]', ret) and not re.search(r'(in|out|exc) \[', ret):
                        end(w, ts, 'ready: select (sets not shown)'); del t[fd2]
            continue
        if name in ('epoll_wait', 'epoll_pwait', 'epoll_pwait2'):
            for fd2, w in list(t.items()):
                for ev in re.finditer(r'\{events=([A-Z|]+), data=\{u32=(\d+), u64=(\d+)', args):
                    if int(ev.group(3)) == w.get('u64', fd2):
                        w['calls'].append((ts, pid, name, '%s -> %s (data %s)' % (name, ev.group(1), ev.group(3)), ''))
                        if re.search(r'EPOLLOUT|EPOLLERR|EPOLLHUP', ev.group(1)):
                            end(w, ts, 'ready: ' + ev.group(1)); t.pop(fd2, None)
            continue
        if name == 'epoll_ctl':
            m2 = re.match(r'^\d+(?:<[^>]*>)?, (EPOLL_CTL_[A-Z]+), (\d+)', args)
            if m2 and int(m2.group(2)) in t:
                u = re.search(r'u64=(\d+)', args)
                if u: t[int(m2.group(2))]['u64'] = int(u.group(1))
                t[int(m2.group(2))]['calls'].append((ts, pid, name, shorten(name + '(' + args + ') = ' + ret), ''))
            continue
        if name in ('dup2', 'dup3'):
            m2 = re.match(r'^\d+(?:<[^>]*>)?, (\d+)', args)
            if m2 and int(m2.group(1)) in t and LIB:
                t[int(m2.group(1))]['calls'].append((ts, pid, name, shorten(name + '(' + args + ') = ' + ret), 'library?'))
            elif m2 and int(m2.group(1)) in t:
                w = t.pop(int(m2.group(1)))
                w['calls'].append((ts, pid, name, shorten(name + '(' + args + ') = ' + ret), 'replaced'))
                end(w, ts, 'replaced by ' + name)
        if name == 'close_range':
            m2 = re.match(r'^(\d+)(?:<[^>]*>)?, (\d+)', args)
            if m2:
                for fd2 in list(t):
                    if int(m2.group(1)) <= fd2 <= int(m2.group(2)):
                        w = t.pop(fd2); w['calls'].append((ts, pid, name, shorten(name + '(' + args + ') = ' + ret), '')); end(w, ts, 'close_range')
            continue
        if fd in t:
            w = t[fd]
            k = re.match(r'^\d+<([A-Za-z0-9-]+)', rawargs)
            w['calls'].append((ts, pid, name, shorten(name + '(' + args + ') = ' + ret), 'on ' + k.group(1) if k and k.group(1) != w['ann'][1:4] else ''))
            if name == 'close':
                del t[fd]; end(w, ts, 'closed')
            elif name == 'connect' and not re.search(r'EALREADY|EINPROGRESS', ret):
                del t[fd]; end(w, ts, 'connect() = ' + ret)
            elif name == 'getsockopt' and 'SO_ERROR' in args and not re.search(r'\[0\]', args):
                del t[fd]; end(w, ts, 'SO_ERROR ' + args.split('[')[-1].split(']')[0])
    def secs(ts):
        h, m, s = ts.split(':'); return int(h) * 3600 + int(m) * 60 + float(s)
    for w in windows:
        dur = '%.3f s' % (secs(w['end']) - secs(w['start'])) if w['end'] else 'until the trace ended'
        print('== pid %s fd %d %s %s -> %s, %s' % (w['pid'], w['fd'], w['ann'], w['addr'], w['why'] or 'never ready', dur))
        cnt = collections.OrderedDict()
        for ts, pid, name, text, note in w['calls']:
            key = re.sub(r'\d+\.\d+|\{tv_sec=\d+, tv_nsec=\d+\}|, \d+\) =', '#', text) + (' [' + note + ']' if note else '') + ('' if pid == w['pid'] else ' (pid %s)' % pid)
            cnt.setdefault(key, [0, ts]); cnt[key][0] += 1
        for k, (n, ts) in sorted(cnt.items(), key=lambda kv: kv[1][1]):
            print('   %s %s%s' % (ts, k, ' x%d' % n if n > 1 else ''))

LIB = False
if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--lib':
        LIB = True; del sys.argv[1]
    for p in sys.argv[1:]:
        print('#', p); main(p)
