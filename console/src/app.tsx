import { useCallback, useEffect, useState } from 'preact/hooks';
import { setCsrfToken } from './api/http.ts';
import { useLiveStatus } from './api/live.ts';
import { listProviders, loadSession, may, signOut, type Session } from './api/session.ts';
import { useResource } from './api/use-resource.ts';
import { ErrorNote, Loading } from './components/feedback.tsx';
import { AccessPage } from './pages/access/access-page.tsx';
import { AuditPage } from './pages/audit/audit-page.tsx';
import { KeysPage } from './pages/keys/keys-page.tsx';
import { MachinePage } from './pages/machines/machine-page.tsx';
import { MachinesPage } from './pages/machines/machines-page.tsx';
import { RoutesPage } from './pages/routes/routes-page.tsx';
import { UsersPage } from './pages/users/users-page.tsx';
import { Link, useLocation } from './router.tsx';

/** The shell: who is signed in, the navigation, and the page the path names. */
export function App() {
  const session = useResource(loadSession);
  if (session.error?.status === 401) return <SignIn />;
  if (session.error) return <ErrorNote error={session.error} title="Could not reach the server" />;
  if (!session.data) return <Loading what="the console" />;
  setCsrfToken(session.data.csrfToken);
  return <Shell session={session.data} />;
}

function SignIn() {
  const providers = useResource(listProviders);
  const next = location.pathname + location.search;
  const href = (url: string) => `${url}${url.includes('?') ? '&' : '?'}next=${encodeURIComponent(next)}`;
  return (
    <main class="signin" aria-labelledby="signin-title">
      <h1 id="signin-title">Trellis console</h1>
      <p>Sign in with your organisation's identity provider to see and manage the network.</p>
      <ErrorNote error={providers.error} title="Could not list the identity providers" />
      {providers.data?.items.length === 0 && (
        <p class="note warn">
          This server has no identity provider configured (oidc.providers), so nobody can sign in to the console. The
          API and the CLI work with API keys.
        </p>
      )}
      <ul class="providers">
        {providers.data?.items.map((p) => (
          <li key={p.name}>
            <a class="button primary" href={href(p.signInUrl)}>
              Sign in with {p.name}
            </a>
          </li>
        ))}
      </ul>
    </main>
  );
}

const PAGES = [
  { path: '/machines', label: 'Machines', everyone: true },
  { path: '/users', label: 'Users and groups', everyone: false },
  { path: '/access', label: 'Access controls', everyone: false },
  { path: '/routes', label: 'Routes and exit nodes', everyone: false },
  { path: '/keys', label: 'Keys', everyone: false },
  { path: '/audit', label: 'Audit log', everyone: false },
];

function Shell({ session }: { session: Session }) {
  const { path, query } = useLocation();
  const operator = may(session, 'read');
  const pages = PAGES.filter((p) => p.everyone || operator);
  const top = pages.find((p) => path === p.path || path.startsWith(`${p.path}/`)) ?? pages[0]!;
  useEffect(() => {
    document.title = `${top.label} · Trellis console`;
  }, [top]);
  // Focus the new page, so keyboard and screen-reader users start there.
  useEffect(() => {
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [path]);
  const page = pageFor(path, query, session, operator);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Trellis</span>
        <LiveIndicator />
        <span class="who">
          {session.user.displayName ?? session.user.email} <span class="badge">{session.role}</span>
        </span>
        <button type="button" onClick={() => void signOut().finally(() => location.assign('/console/'))}>
          Sign out
        </button>
      </header>
      <div class="layout">
        <nav aria-label="Console" class="side">
          <ul>
            {pages.map((p) => (
              <li key={p.path}>
                <Link href={p.path} current={p === top}>
                  {p.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          {page}
        </main>
      </div>
    </>
  );
}

function pageFor(path: string, query: URLSearchParams, session: Session, operator: boolean) {
  const machine = /^\/machines\/([^/]+)$/.exec(path);
  if (machine) return <MachinePage id={decodeURIComponent(machine[1]!)} session={session} />;
  if (!operator) return <MachinesPage />;
  if (path.startsWith('/access'))
    return <AccessPage sub={path.slice('/access'.length)} query={query} session={session} />;
  if (path === '/users') return <UsersPage session={session} />;
  if (path === '/routes') return <RoutesPage />;
  if (path === '/keys') return <KeysPage session={session} />;
  if (path === '/audit') return <AuditPage />;
  return <MachinesPage />;
}

function LiveIndicator() {
  const [status, setStatus] = useState<'connecting' | 'live' | 'down'>('connecting');
  useLiveStatus(useCallback((s: typeof status) => setStatus(s), []));
  const text = { connecting: 'Connecting for live updates', live: 'Live', down: 'Live updates unavailable' }[status];
  return (
    <span class={`live ${status}`} role="status">
      {text}
    </span>
  );
}
