import { createHash } from 'node:crypto';

/**
 * The server's own pages (sign-in hand-off, device approved, errors): small, accessible HTML
 * (language, title, one heading, landmarks, text that says what to do next), no scripts, and a
 * Content-Security-Policy that allows only the one stylesheet below.
 */
const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1b1f24}
main{max-width:34rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.5rem;margin-top:0}
.code{font:600 1.25rem ui-monospace,monospace;letter-spacing:.1em}
a.button{display:inline-block;padding:.6rem 1.2rem;background:#1f5fbf;color:#fff;border-radius:6px;text-decoration:none;font-weight:600}
button{padding:.6rem 1.2rem;background:#1f5fbf;color:#fff;border:0;border-radius:6px;font:inherit;font-weight:600;cursor:pointer}
button:focus,a.button:focus{outline:3px solid #f4b400;outline-offset:2px}
.error{border-left:4px solid #b3261e;padding-left:1rem}
small{color:#555}
`;
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

export const PAGE_HEADERS: Record<string, string> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // The callback URL carries an authorization code: never send it on as a referrer.
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** The sign-in link's page posts its one form back to this server: the only page that may. */
export const FORM_PAGE_HEADERS: Record<string, string> = {
  ...PAGE_HEADERS,
  'content-security-policy': PAGE_HEADERS['content-security-policy']!.replace(
    "form-action 'none'",
    "form-action 'self'",
  ),
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A whole page; `body` is trusted HTML (build it with escapeHtml). */
function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · Trellis</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export function handoffPage(o: { hostname: string; provider: string; code: string; continueUrl: string }): string {
  return page(
    'Sign in to connect a device',
    `<h1>Sign in to connect a device</h1>
<p>The device <strong>${escapeHtml(o.hostname)}</strong> asks to join the Trellis network as you.</p>
<p>Continue only if you started this yourself, and your terminal shows this code:</p>
<p class="code" aria-label="verification code">${escapeHtml(o.code)}</p>
<p><a class="button" href="${escapeHtml(o.continueUrl)}">Continue to sign in with ${escapeHtml(o.provider)}</a></p>
<p><small>If you did not start this, close this page: nothing happens.</small></p>`,
  );
}

export function approvedPage(o: { hostname: string; email: string }): string {
  return page(
    'Device approved',
    `<h1>Device approved</h1>
<p><strong>${escapeHtml(o.hostname)}</strong> is now connected as <strong>${escapeHtml(o.email)}</strong>.</p>
<p>You can close this window and return to your terminal.</p>`,
  );
}

/** A page that only says something: a heading and one paragraph. */
export function messagePage(o: { title: string; message: string }): string {
  return page(o.title, `<h1>${escapeHtml(o.title)}</h1>\n<p>${escapeHtml(o.message)}</p>`);
}

export function errorPage(o: {
  title: string;
  message: string;
  code: string;
  /** A link to start again; without it, the page points to the terminal (an agent's sign-in). */
  retry?: { text: string; href: string };
}): string {
  const again = o.retry
    ? `<p><a class="button" href="${escapeHtml(o.retry.href)}">${escapeHtml(o.retry.text)}</a></p>`
    : '<p>Start again from your terminal (for example <code>trellis up</code>).</p>';
  return page(
    o.title,
    `<h1>${escapeHtml(o.title)}</h1>
<div class="error" role="alert">
<p>${escapeHtml(o.message)}</p>
</div>
<p><small>Error code: <code>${escapeHtml(o.code)}</code></small></p>
${again}`,
  );
}

/**
 * A sign-in link asks before it signs in: opening the link only shows this page (a mail or chat
 * preview that fetches it uses nothing up); the button posts the link's secret back.
 */
export function signInLinkPage(o: { action: string; link: string }): string {
  return page(
    'Sign in to the Trellis console',
    `<h1>Sign in to the Trellis console</h1>
<p>This one-time link signs you in to the admin console. It works once, for a few minutes.</p>
<form method="post" action="${escapeHtml(o.action)}">
<input type="hidden" name="link" value="${escapeHtml(o.link)}">
<p><button type="submit">Sign in</button></p>
</form>
<p><small>If you did not ask for this link, close this page: nothing happens.</small></p>`,
  );
}
